#include "control/agent/executor/task_networks.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "control/agent/rows/peer_record.h"

namespace shoal::agent {

namespace {

constexpr const char* kNodeEndpoint = "node";

dataplane::NetworkSpec network_spec(const manager::Network& network) {
  dataplane::NetworkSpec spec;
  spec.id = network.id;
  spec.vni = network.vni;
  spec.subnet = network.subnet.value_or(Ipv4Prefix{});
  spec.gateway = network.gateway.value_or(Ipv4(spec.subnet.network().host_order() + 1));
  spec.gateway_on_bridge = !network.ingress;  // the node's ingress0 holds it (the mesh)
  return spec;
}

}  // namespace

std::string endpoint_id(const std::string& task_id, size_t index) {
  return index == 0 ? task_id : task_id + "-" + std::to_string(index);
}

TaskNetworks::TaskNetworks(std::unique_ptr<dataplane::NetKernel> kernel, dataplane::Overlay overlay,
                           Ipv4 vtep, TableMember& gossip)
    : kernel_(std::move(kernel)), overlay_(std::move(overlay)), vtep_(vtep), gossip_(gossip) {}

Status TaskNetworks::ensure(const manager::Network& network) {
  if (ensured_.contains(network.id))
    return {};
  SHOAL_TRY(overlay_.ensure(network_spec(network)));
  ensured_.insert(network.id);
  return {};
}

Status TaskNetworks::attach_node(const manager::Network& ingress, Ipv4Prefix addr) {
  {
    std::lock_guard lock(overlay_mutex_);
    SHOAL_TRY(ensure(ingress));
    dataplane::EndpointSpec endpoint;
    endpoint.network_id = ingress.id;
    endpoint.id = kNodeEndpoint;
    endpoint.netns = "/proc/self/ns/net";  // shoald runs in the node's namespace
    endpoint.ifname = "ingress0";
    endpoint.ip = addr.addr();
    endpoint.default_route = false;
    endpoint.holds_gateway = true;
    SHOAL_TRY(overlay_.attach(endpoint));
  }
  // Tasks elsewhere answer the mesh's translated requests to this address: they need it as a
  // peer like any endpoint.
  gossip_.put(agent::kPeerTable, ingress.id, std::string(kNodeEndpoint) + "@" + vtep_.str(),
              agent::encode_peer({.ip = addr, .mac = Mac::from_ipv4(addr.addr()), .vtep = vtep_}));
  return {};
}

Status TaskNetworks::attach_task(const api::TaskAssignment& task, const NetworkMap& networks,
                                 TaskRecord& record) {
  std::lock_guard lock(overlay_mutex_);
  std::string netns;
  size_t index = 0;
  for (const auto& [network_id, addr] : task.addresses) {
    auto network = networks.find(network_id);
    if (network == networks.end())
      return invalid_argument("network " + network_id, "is not in the assignment");
    SHOAL_TRY(ensure(network->second));
    dataplane::EndpointSpec endpoint;
    endpoint.network_id = network_id;
    endpoint.id = endpoint_id(task.id, index);
    endpoint.netns = netns;  // empty for the first: attach makes the task's namespace
    endpoint.ifname = "eth" + std::to_string(index);
    endpoint.ip = addr.addr();
    endpoint.default_route = index == 0;
    record.networks.push_back(network_id);
    record.addresses.push_back(addr);
    SHOAL_ASSIGN_OR_RETURN(auto attached, overlay_.attach(endpoint));
    netns = attached.netns;
    record.netns = attached.netns;
    ++index;
  }
  if (netns.empty())
    return invalid_argument("task " + task.id, "has no network (every task needs one)");
  return {};
}

void TaskNetworks::publish(const std::string& task_id, const TaskRecord& record) {
  for (size_t index = 0; index < record.networks.size() && index < record.addresses.size();
       ++index) {
    auto ip = record.addresses[index];
    gossip_.put(agent::kPeerTable, record.networks[index], endpoint_id(task_id, index),
                agent::encode_peer({.ip = ip, .mac = Mac::from_ipv4(ip.addr()), .vtep = vtep_}));
  }
}

void TaskNetworks::detach_task(const std::string& task_id, const TaskRecord& record) {
  for (size_t index = 0; index < record.networks.size(); ++index)
    gossip_.erase(agent::kPeerTable, record.networks[index], endpoint_id(task_id, index));
  std::lock_guard lock(overlay_mutex_);
  for (size_t index = record.networks.size(); index-- > 0;) {
    auto detached = overlay_.detach(record.networks[index], endpoint_id(task_id, index));
    if (!detached.ok())
      spdlog::warn("task {}: {}", task_id, detached.error().message());
  }
}

bool TaskNetworks::note_peer(const gossip::networkdb::WatchEvent& event) {
  std::lock_guard lock(peers_mutex_);
  auto& network = peers_[event.network];
  if (event.type == gossip::networkdb::WatchEventType::kDelete)
    return network.erase(event.key) > 0;
  auto record = agent::decode_peer(event.value);
  if (!record.ok()) {
    spdlog::warn("peer {} of network {} from {}: {}", event.key, event.network, event.owner,
                 record.error().message());
    return false;
  }
  network[event.key] = {.network_id = event.network,
                        .ip = record->ip.addr(),
                        .mac = record->mac,
                        .vtep = record->vtep};
  return true;
}

void TaskNetworks::program_peers(const std::map<std::string, TaskRecord>& records,
                                 const NetworkMap& networks) {
  std::lock_guard lock(overlay_mutex_);
  // After a restart the overlay object knows no network yet: ensure adopts what is in place.
  for (const auto& [id, record] : records) {
    for (const auto& network_id : record.networks) {
      auto network = networks.find(network_id);
      if (!record.torn_down && network != networks.end())
        (void)ensure(network->second);  // retried on the next pass when it fails
    }
  }
  std::map<std::string, std::map<std::string, dataplane::PeerSpec>> peers;
  {
    std::lock_guard peers_lock(peers_mutex_);
    peers = peers_;
  }
  for (const auto& network_id : ensured_) {
    std::vector<dataplane::PeerSpec> remote;
    if (auto known = peers.find(network_id); known != peers.end()) {
      for (const auto& [key, peer] : known->second) {
        if (peer.vtep != vtep_)
          remote.push_back(peer);
      }
    }
    if (auto synced = overlay_.sync_peers(network_id, remote); !synced.ok())
      spdlog::warn("peers of network {}: {}", network_id, synced.error().message());
  }
}

void TaskNetworks::prune(const std::map<std::string, TaskRecord>& records,
                         const std::optional<std::string>& node_network) {
  std::set<std::string> used;
  std::set<std::string> endpoints;
  for (const auto& [id, record] : records) {
    if (record.torn_down)
      continue;
    used.insert(record.networks.begin(), record.networks.end());
    for (size_t index = 0; index < std::max<size_t>(record.networks.size(), 1); ++index)
      endpoints.insert(endpoint_id(id, index));
  }
  if (node_network)
    used.insert(*node_network);  // every node keeps it
  gossip_.set_networks(used);
  std::lock_guard lock(overlay_mutex_);
  for (auto it = ensured_.begin(); it != ensured_.end();) {
    if (used.contains(*it)) {
      ++it;
      continue;
    }
    if (auto removed = overlay_.remove(*it); !removed.ok())
      spdlog::warn("remove network {}: {}", *it, removed.error().message());
    it = ensured_.erase(it);
  }
  if (!needs_sweep_)
    return;
  // What an earlier run of the agent left (it may have died mid-teardown): every namespace of
  // this node that no live task accounts for goes.
  auto swept = overlay_.sweep(used, endpoints);
  if (!swept.ok()) {
    spdlog::warn("sweep: {}", swept.error().message());
    return;
  }
  for (const auto& ns : swept->removed)
    spdlog::info("removed leftover namespace {}", ns);
  needs_sweep_ = false;
}

Status TaskNetworks::remove_all() {
  std::lock_guard lock(overlay_mutex_);
  for (const auto& network : ensured_)
    (void)overlay_.remove(network);
  ensured_.clear();
  SHOAL_TRY(overlay_.sweep({}, {}));
  return {};
}

}  // namespace shoal::agent
