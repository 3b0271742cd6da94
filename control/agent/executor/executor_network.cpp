// The executor's network side: the overlay networks and endpoints of tasks and of the node's
// own ingress endpoint, and the overlay peers, which come from and go to the gossiped
// overlay peer table.
#include <spdlog/spdlog.h>

#include "control/agent/executor/executor.h"
#include "control/agent/executor/executor_internal.h"
#include "control/agent/rows/peer_record.h"

namespace shoal::daemon {

using executor_internal::endpoint_id;

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

void Executor::attach_node_ingress() {
  if (!node_ingress_ || node_ingress_ == node_ingress_attached_) {
    return;
  }
  auto network = networks_.find(node_ingress_->network_id);
  if (network == networks_.end()) {
    return;
  }
  std::lock_guard kernel(kernel_mutex_);
  auto ensured = overlay_.ensure(network_spec(network->second));
  if (!ensured.ok()) {
    spdlog::warn("ingress network: {}", ensured.error().message());
    return;
  }
  ensured_networks_.insert(network->first);
  dataplane::EndpointSpec endpoint;
  endpoint.network_id = network->first;
  endpoint.id = kNodeEndpoint;
  endpoint.netns = "/proc/self/ns/net";  // shoald runs in the node's namespace
  endpoint.ifname = "ingress0";
  endpoint.ip = node_ingress_->addr.addr();
  endpoint.default_route = false;
  endpoint.holds_gateway = true;
  auto attached = overlay_.attach(endpoint);
  if (!attached.ok()) {
    spdlog::warn("ingress endpoint of the node: {}", attached.error().message());
    return;
  }
  node_ingress_attached_ = node_ingress_;
  // Tasks elsewhere answer the mesh's translated requests to this address: they need it as a
  // peer like any endpoint.
  auto ip = node_ingress_->addr;
  gossip_.put(agent::kPeerTable, node_ingress_->network_id,
              std::string(kNodeEndpoint) + "@" + config_.advertise_addr.str(),
              agent::encode_peer(
                  {.ip = ip, .mac = Mac::from_ipv4(ip.addr()), .vtep = config_.advertise_addr}));
  spdlog::info("node endpoint {} on the ingress network", node_ingress_->addr.str());
  if (auto mesh = plane_.enable_mesh(node_ingress_->network_id, node_ingress_->addr.addr());
      !mesh.ok()) {
    spdlog::warn("routing mesh: {}", mesh.error().message());
  }
}

Status Executor::prepare_network(const api::TaskAssignment& task, Local& local,
                                 std::string& netns) {
  std::lock_guard kernel(kernel_mutex_);
  size_t index = 0;
  for (const auto& [network_id, addr] : task.addresses) {
    auto network = networks_.find(network_id);
    if (network == networks_.end()) {
      return invalid_argument("network " + network_id, "is not in the assignment");
    }
    if (!ensured_networks_.contains(network_id)) {
      SHOAL_TRY(overlay_.ensure(network_spec(network->second)));
      ensured_networks_.insert(network_id);
    }
    dataplane::EndpointSpec endpoint;
    endpoint.network_id = network_id;
    endpoint.id = endpoint_id(task.id, index);
    endpoint.netns = netns;  // empty for the first: attach makes the task's namespace
    endpoint.ifname = "eth" + std::to_string(index);
    endpoint.ip = addr.addr();
    endpoint.default_route = index == 0;
    local.networks.push_back(network_id);
    local.addresses.push_back(addr);
    SHOAL_ASSIGN_OR_RETURN(auto attached, overlay_.attach(endpoint));
    netns = attached.netns;
    local.netns = attached.netns;
    ++index;
  }
  if (netns.empty()) {
    return invalid_argument("task " + task.id, "has no network (every task needs one)");
  }
  return {};
}

void Executor::program_peers() {
  std::lock_guard kernel(kernel_mutex_);
  // After a restart the overlay object knows no network yet: ensure adopts what is in place.
  for (const auto& [id, local] : local_) {
    for (const auto& network_id : local.networks) {
      auto network = networks_.find(network_id);
      if (local.torn_down || ensured_networks_.contains(network_id) || network == networks_.end()) {
        continue;
      }
      if (auto ensured = overlay_.ensure(network_spec(network->second)); ensured.ok()) {
        ensured_networks_.insert(network_id);
      }
    }
  }
  for (const auto& network_id : ensured_networks_) {
    std::vector<dataplane::PeerSpec> peers;
    if (auto known = peers_.find(network_id); known != peers_.end()) {
      for (const auto& [key, peer] : known->second) {
        if (peer.vtep != config_.advertise_addr)
          peers.push_back(peer);
      }
    }
    if (auto synced = overlay_.sync_peers(network_id, peers); !synced.ok()) {
      spdlog::warn("peers of network {}: {}", network_id, synced.error().message());
    }
  }
}

void Executor::publish_endpoints(const std::string& id, const Local& local) {
  for (size_t index = 0; index < local.networks.size() && index < local.addresses.size(); ++index) {
    auto ip = local.addresses[index];
    gossip_.put(agent::kPeerTable, local.networks[index], endpoint_id(id, index),
                agent::encode_peer(
                    {.ip = ip, .mac = Mac::from_ipv4(ip.addr()), .vtep = config_.advertise_addr}));
  }
}

void Executor::withdraw_endpoints(const std::string& id, const Local& local) {
  for (size_t index = 0; index < local.networks.size(); ++index) {
    gossip_.erase(agent::kPeerTable, local.networks[index], endpoint_id(id, index));
  }
}

void Executor::note_peer(const gossip::networkdb::WatchEvent& event) {
  std::lock_guard lock(mutex_);
  auto& network = peers_[event.network];
  if (event.type == gossip::networkdb::WatchEventType::kDelete) {
    network.erase(event.key);
  } else if (auto record = agent::decode_peer(event.value); record.ok()) {
    network[event.key] = {.network_id = event.network,
                          .ip = record->ip.addr(),
                          .mac = record->mac,
                          .vtep = record->vtep};
  } else {
    spdlog::warn("peer {} of network {} from {}: {}", event.key, event.network, event.owner,
                 record.error().message());
    return;
  }
  changed_ = true;
  cv_.notify_all();
}

}  // namespace shoal::daemon
