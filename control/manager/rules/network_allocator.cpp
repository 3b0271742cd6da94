#include "control/manager/rules/network_allocator.h"

#include <algorithm>

namespace shoal::manager {

Result<NetworkAllocator> NetworkAllocator::create(AllocatorConfig config) {
  const auto& pool = config.default_pool;
  if (pool.addr() != pool.network()) {
    return invalid_argument("address pool " + pool.str(), "has host bits set (did you mean " +
                                                              pool.network().str() + "/" +
                                                              std::to_string(pool.length()) + "?)");
  }
  if (config.subnet_size < pool.length() || config.subnet_size > 30) {
    return invalid_argument(
        "subnet size /" + std::to_string(config.subnet_size),
        "must be between the pool's /" + std::to_string(pool.length()) + " and /30");
  }
  if (config.vni_first == 0 || config.vni_first > config.vni_last ||
      config.vni_last >= (1u << 24)) {
    return invalid_argument("VNI range", "must lie within 1-16777215, first <= last");
  }
  if (config.dynamic_port_first == 0 || config.dynamic_port_first > config.dynamic_port_last) {
    return invalid_argument("dynamic port range", "must lie within 1-65535, first <= last");
  }
  return NetworkAllocator(config);
}

NetworkAllocator::NetworkAllocator(AllocatorConfig config)
    : config_(config), ports_(config.dynamic_port_first, config.dynamic_port_last) {}

Result<Ipv4Prefix> NetworkAllocator::next_subnet() const {
  const auto& pool = config_.default_pool;
  uint64_t count = uint64_t{1} << (config_.subnet_size - pool.length());
  uint64_t step = uint64_t{1} << (32 - config_.subnet_size);
  for (uint64_t k = 0; k < count; ++k) {
    Ipv4Prefix candidate(Ipv4(static_cast<uint32_t>(pool.network().host_order() + k * step)),
                         config_.subnet_size);
    bool free = std::none_of(networks_.begin(), networks_.end(), [&](const auto& entry) {
      return entry.second.pool.subnet().overlaps(candidate);
    });
    if (free) {
      return candidate;
    }
  }
  return invalid_argument("address pool " + pool.str(),
                          "no free /" + std::to_string(config_.subnet_size) + " subnet left");
}

Status NetworkAllocator::check_subnet_free(const Network& network, const Ipv4Prefix& subnet) const {
  for (const auto& [id, state] : networks_) {
    if (id != network.id && state.pool.subnet().overlaps(subnet)) {
      return invalid_argument("subnet " + subnet.str(), "overlaps " + state.pool.subnet().str() +
                                                            " of network " + state.name);
    }
  }
  return {};
}

Status NetworkAllocator::allocate_network(Network& network) {
  std::string object = "network " + network.name;
  if (network.driver != "overlay") {
    return invalid_argument(object, "driver \"" + network.driver + "\" is not supported (overlay)");
  }
  if (networks_.contains(network.id)) {
    return invalid_argument(object, "is already allocated");
  }
  if (network.ingress && ingress_id_) {
    return invalid_argument(
        object, "an ingress network already exists: " + networks_.at(*ingress_id_).name);
  }
  Network result = network;
  if (result.vni == 0) {
    uint32_t vni = config_.vni_first;
    for (auto it = vnis_.lower_bound(vni); it != vnis_.end() && *it == vni; ++it) {
      ++vni;
    }
    if (vni > config_.vni_last || vni < config_.vni_first) {
      return invalid_argument(object, "no free VXLAN ID left in " +
                                          std::to_string(config_.vni_first) + "-" +
                                          std::to_string(config_.vni_last));
    }
    result.vni = vni;
  }
  if (result.subnet) {
    const auto& subnet = *result.subnet;
    if (subnet.addr() != subnet.network()) {
      return invalid_argument("subnet " + subnet.str(), "has host bits set (did you mean " +
                                                            subnet.network().str() + "/" +
                                                            std::to_string(subnet.length()) + "?)");
    }
    if (subnet.length() > 30) {
      return invalid_argument("subnet " + subnet.str(), "is too small: /30 is the smallest");
    }
  } else {
    SHOAL_ASSIGN_OR_RETURN(result.subnet, next_subnet());
  }
  SHOAL_TRY(check_subnet_free(result, *result.subnet));
  if (result.gateway) {
    if (!result.subnet->is_host_address(*result.gateway)) {
      return invalid_argument("gateway " + result.gateway->str(),
                              "is not a host address of subnet " + result.subnet->str());
    }
  } else {
    result.gateway = Ipv4(result.subnet->network().host_order() + 1);
  }
  SHOAL_TRY(claim_network(result));
  network = std::move(result);
  return {};
}

Status NetworkAllocator::claim_network(const Network& network) {
  if (vnis_.contains(network.vni)) {
    return invalid_argument("network " + network.name,
                            "VXLAN ID " + std::to_string(network.vni) + " is already in use");
  }
  vnis_.insert(network.vni);
  networks_.insert_or_assign(network.id,
                             NetworkState{.name = network.name,
                                          .vni = network.vni,
                                          .pool = IpPool(*network.subnet, *network.gateway)});
  if (network.ingress) {
    ingress_id_ = network.id;
  }
  return {};
}

void NetworkAllocator::release_network(const std::string& network_id) {
  auto it = networks_.find(network_id);
  if (it == networks_.end()) {
    return;
  }
  vnis_.erase(it->second.vni);
  if (ingress_id_ == network_id) {
    ingress_id_.reset();
  }
  networks_.erase(it);
}

Result<std::vector<std::string>> NetworkAllocator::attached_networks(const Service& service) const {
  std::vector<std::string> ids;
  for (const auto& id : service.spec.networks) {
    if (!networks_.contains(id)) {
      return invalid_argument("service " + service.spec.name, "network " + id + " not found");
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      ids.push_back(id);
    }
  }
  // mode=host ports ride the ingress network too: the node's mesh forwards its port to its own
  // tasks' ingress addresses, so every published port is served by one datapath.
  if (!service.spec.ports.empty()) {
    if (!ingress_id_) {
      return invalid_argument("service " + service.spec.name,
                              "publishes a port but there is no ingress network");
    }
    if (std::find(ids.begin(), ids.end(), *ingress_id_) == ids.end()) {
      ids.push_back(*ingress_id_);
    }
  }
  return ids;
}

Result<Ipv4Prefix> NetworkAllocator::allocate_address(const std::string& holder,
                                                      const std::string& network_id) {
  auto& state = networks_.at(network_id);
  auto ip = state.pool.allocate();
  if (!ip.ok()) {
    return invalid_argument("network " + state.name,
                            "no free address left in " + state.pool.subnet().str());
  }
  holders_[holder].emplace_back(network_id, *ip);
  return Ipv4Prefix(*ip, state.pool.subnet().length());
}

Status NetworkAllocator::allocate_service(Service& service) {
  if (service_ports_.contains(service.id)) {
    return invalid_argument("service " + service.spec.name, "is already allocated");
  }
  return assign_endpoint(service, {});
}

Status NetworkAllocator::reallocate_service(Service& service) {
  if (!service_ports_.contains(service.id)) {
    return allocate_service(service);
  }
  const ServiceEndpoint previous = service.endpoint;
  release_service(service.id);
  auto assigned = assign_endpoint(service, previous);
  if (!assigned.ok()) {
    // Nothing else was handed out in between: what it held is free for it again.
    (void)claim_endpoint(service, previous);
    service.endpoint = previous;
    service.allocated = true;
  }
  return assigned;
}

Status NetworkAllocator::claim_endpoint(const Service& service, const ServiceEndpoint& endpoint) {
  SHOAL_ASSIGN_OR_RETURN(auto ports, ports_.allocate(service.spec.name, endpoint.ports));
  service_ports_[service.id] = std::move(ports);
  for (const auto& [network_id, vip] : endpoint.vips) {
    auto network = networks_.find(network_id);
    if (network == networks_.end()) {
      continue;  // the network is gone; so is the address
    }
    SHOAL_TRY(network->second.pool.claim(vip.addr()));
    holders_[service.id].emplace_back(network_id, vip.addr());
  }
  return {};
}

Result<Ipv4Prefix> NetworkAllocator::service_vip(const std::string& service_id,
                                                 const std::string& network_id,
                                                 const ServiceEndpoint& previous) {
  auto kept = previous.vips.find(network_id);
  if (kept != previous.vips.end() &&
      networks_.at(network_id).pool.claim(kept->second.addr()).ok()) {
    holders_[service_id].emplace_back(network_id, kept->second.addr());
    return kept->second;
  }
  return allocate_address(service_id, network_id);
}

Status NetworkAllocator::assign_endpoint(Service& service, const ServiceEndpoint& previous) {
  const auto& spec = service.spec;
  bool ingress_ports = std::any_of(spec.ports.begin(), spec.ports.end(), [](const PortConfig& p) {
    return p.mode == PublishMode::kIngress;
  });
  if (ingress_ports && spec.endpoint_mode == EndpointMode::kDnsrr) {
    return invalid_argument("service " + spec.name,
                            "ports published in ingress mode need endpoint mode vip, not dnsrr");
  }
  SHOAL_ASSIGN_OR_RETURN(auto networks, attached_networks(service));
  std::vector<PortConfig> wanted = spec.ports;
  for (auto& port : wanted) {
    // A port kept across an update keeps the number the range gave it.
    auto same = std::find_if(previous.ports.begin(), previous.ports.end(), [&](const auto& p) {
      return p.target == port.target && p.protocol == port.protocol && p.mode == port.mode;
    });
    if (port.published == 0 && same != previous.ports.end()) {
      port.published = same->published;
    }
  }
  SHOAL_ASSIGN_OR_RETURN(auto ports, ports_.allocate(spec.name, std::move(wanted)));
  ServiceEndpoint endpoint{.ports = ports, .vips = {}};
  if (spec.endpoint_mode == EndpointMode::kVip) {
    for (const auto& network_id : networks) {
      auto vip = service_vip(service.id, network_id, previous);
      if (!vip.ok()) {
        ports_.release(ports);
        release_service(service.id);
        return std::move(vip).error();
      }
      endpoint.vips.emplace(network_id, *vip);
    }
  }
  service_ports_[service.id] = std::move(ports);
  service.endpoint = std::move(endpoint);
  service.allocated = true;
  return {};
}

void NetworkAllocator::release_service(const std::string& service_id) {
  if (auto it = service_ports_.find(service_id); it != service_ports_.end()) {
    ports_.release(it->second);
    service_ports_.erase(it);
  }
  release_task(service_id);  // the VIPs, held under the service's id
}

Status NetworkAllocator::allocate_task(Task& task, const Service& service) {
  if (holders_.contains(task.id)) {
    return invalid_argument("task " + task.id, "is already allocated");
  }
  SHOAL_ASSIGN_OR_RETURN(auto networks, attached_networks(service));
  std::map<std::string, Ipv4Prefix> addresses;
  for (const auto& network_id : networks) {
    auto address = allocate_address(task.id, network_id);
    if (!address.ok()) {
      release_task(task.id);
      return std::move(address).error();
    }
    addresses.emplace(network_id, *address);
  }
  task.addresses = std::move(addresses);
  return {};
}

void NetworkAllocator::release_task(const std::string& task_id) {
  auto it = holders_.find(task_id);
  if (it == holders_.end()) {
    return;
  }
  for (const auto& [network_id, ip] : it->second) {
    if (auto network = networks_.find(network_id); network != networks_.end()) {
      network->second.pool.release(ip);
    }
  }
  holders_.erase(it);
}

Status NetworkAllocator::rebuild(const ReadTx& tx) {
  vnis_.clear();
  networks_.clear();
  ingress_id_.reset();
  holders_.clear();
  service_ports_.clear();
  ports_.clear();
  for (const auto& network : tx.networks()) {
    if (network.vni != 0 && network.subnet && network.gateway) {
      SHOAL_TRY(check_subnet_free(network, *network.subnet));
      SHOAL_TRY(claim_network(network));
    }
  }
  auto claim_addresses = [&](const std::string& holder,
                             const std::map<std::string, Ipv4Prefix>& addresses) -> Status {
    for (const auto& [network_id, address] : addresses) {
      auto network = networks_.find(network_id);
      if (network == networks_.end()) {
        continue;  // the network is gone; so is the address
      }
      SHOAL_TRY(network->second.pool.claim(address.addr()));
      holders_[holder].emplace_back(network_id, address.addr());
    }
    return {};
  };
  for (const auto& service : tx.services()) {
    if (!service.allocated) {
      continue;
    }
    SHOAL_TRY(claim_endpoint(service, service.endpoint));
  }
  for (const auto& task : tx.tasks()) {
    if (!is_terminal(task.observed) && task.observed != TaskState::kNew) {
      SHOAL_TRY(claim_addresses(task.id, task.addresses));
    }
  }
  for (const auto& node : tx.nodes()) {
    if (node.ingress_addr && ingress_id_) {
      SHOAL_TRY(claim_addresses(node.id, {{*ingress_id_, *node.ingress_addr}}));
    }
  }
  return {};
}

Status NetworkAllocator::allocate_node(Node& node) {
  if (!ingress_id_ || node.ingress_addr || holders_.contains(node.id)) {
    return {};
  }
  SHOAL_ASSIGN_OR_RETURN(node.ingress_addr, allocate_address(node.id, *ingress_id_));
  return {};
}

const IpPool* NetworkAllocator::pool(const std::string& network_id) const {
  auto it = networks_.find(network_id);
  return it == networks_.end() ? nullptr : &it->second.pool;
}

}  // namespace shoal::manager
