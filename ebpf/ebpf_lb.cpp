#include "ebpf/ebpf_lb.h"

#include <arpa/inet.h>

#include <set>

#include "ebpf/slot_plan.h"

namespace shoal::ebpf {

Result<std::unique_ptr<EbpfLoadBalancer>> EbpfLoadBalancer::create(LbMapIo& maps) {
  std::unique_ptr<EbpfLoadBalancer> balancer(new EbpfLoadBalancer(maps));
  auto adopt = [&](const Key& key, const shoal_lb_service& value) {
    balancer->frontends_[key] = FrontendState{value.id, value.generation & 1, value.slot_count, {}};
    balancer->next_id_ = std::max(balancer->next_id_, value.id + 1);
  };
  SHOAL_ASSIGN_OR_RETURN(auto vips, maps.services());
  for (const auto& [key, value] : vips)
    adopt(Key{key.vip, key.port, key.proto}, value);
  SHOAL_ASSIGN_OR_RETURN(auto ports, maps.ingress_ports());
  for (const auto& [key, value] : ports)
    adopt(Key{0, key.port, key.proto}, value);
  return balancer;
}

std::vector<EbpfLoadBalancer::Target> EbpfLoadBalancer::targets_of(const lb::Service& service) {
  std::vector<Target> targets;
  for (const lb::Frontend& f : service.frontends) {
    targets.push_back(
        Target{key_of(f), f.target_port != 0 ? f.target_port : f.port, &service.backends, 0u});
  }
  for (const lb::PublishedPort& p : service.published) {
    targets.push_back(Target{Key{0, htons(p.port), static_cast<uint8_t>(p.protocol)},
                             p.target_port != 0 ? p.target_port : p.port, &service.ingress_backends,
                             p.preserve_source ? SHOAL_LB_PRESERVE_SOURCE : 0u});
  }
  return targets;
}

std::string EbpfLoadBalancer::describe(const Key& key) {
  const std::string port = std::to_string(ntohs(std::get<1>(key)));
  return std::get<0>(key) == 0 ? "published port " + port
                               : "frontend " + Ipv4(ntohl(std::get<0>(key))).str() + ":" + port;
}

Status EbpfLoadBalancer::write_entry(const Key& key, const shoal_lb_service& value) {
  if (std::get<0>(key) == 0) {
    shoal_ingress_port port{};
    port.port = std::get<1>(key);
    port.proto = std::get<2>(key);
    return maps_->put_ingress_port(port, value);
  }
  return maps_->put_service(map_key(key), value);
}

Status EbpfLoadBalancer::delete_entry(const Key& key) {
  if (std::get<0>(key) == 0) {
    shoal_ingress_port port{};
    port.port = std::get<1>(key);
    port.proto = std::get<2>(key);
    return maps_->delete_ingress_port(port);
  }
  return maps_->delete_service(map_key(key));
}

EbpfLoadBalancer::Key EbpfLoadBalancer::key_of(const lb::Frontend& frontend) {
  return Key{frontend.vip.network_order(), htons(frontend.port),
             static_cast<uint8_t>(frontend.protocol)};
}

shoal_lb_frontend EbpfLoadBalancer::map_key(const Key& key) {
  shoal_lb_frontend k{};
  k.vip = std::get<0>(key);
  k.port = std::get<1>(key);
  k.proto = std::get<2>(key);
  return k;
}

Status EbpfLoadBalancer::program(const Target& target, FrontendState& state) {
  const std::vector<Ipv4> slots = plan_slots(*target.backends, SHOAL_LB_MAX_SLOTS);
  const uint32_t generation = state.slot_count == 0 && state.id == 0 ? 0 : state.generation ^ 1;
  if (state.id == 0) {
    state.id = next_id_++;
  }
  const uint16_t port = htons(target.backend_port);
  for (uint32_t i = 0; i < slots.size(); ++i) {
    shoal_lb_slot_key slot{state.id, generation * SHOAL_LB_MAX_SLOTS + i};
    shoal_lb_backend backend{};
    backend.ip = slots[i].network_order();
    backend.port = port;
    SHOAL_TRY(maps_->put_slot(slot, backend));
  }
  shoal_lb_service value{};
  value.id = state.id;
  value.slot_count = static_cast<uint32_t>(slots.size());
  value.generation = generation;
  value.flags = target.flags;
  SHOAL_TRY(write_entry(target.key, value));
  state.generation = generation;
  state.slot_count = value.slot_count;
  return {};
}

Status EbpfLoadBalancer::drop(const Key& key) {
  auto it = frontends_.find(key);
  if (it == frontends_.end()) {
    return {};
  }
  SHOAL_TRY(delete_entry(key));
  // Each generation's slots are always written as a prefix 0..n-1: stop at the first gap.
  for (uint32_t generation = 0; generation < 2; ++generation) {
    for (uint32_t i = 0; i < SHOAL_LB_MAX_SLOTS; ++i) {
      SHOAL_ASSIGN_OR_RETURN(
          bool existed, maps_->delete_slot(
                            shoal_lb_slot_key{it->second.id, generation * SHOAL_LB_MAX_SLOTS + i}));
      if (!existed)
        break;
    }
  }
  frontends_.erase(it);
  return {};
}

Status EbpfLoadBalancer::upsert(const lb::Service& service) {
  SHOAL_TRY(lb::validate_service(service));
  const std::vector<Target> targets = targets_of(service);
  for (const Target& target : targets) {
    auto it = frontends_.find(target.key);
    if (it != frontends_.end() && !it->second.owner.empty() && it->second.owner != service.id) {
      return invalid_argument("service " + service.id,
                              describe(target.key) + " belongs to service " + it->second.owner);
    }
  }
  std::set<Key> wanted;
  for (const Target& target : targets) {
    wanted.insert(target.key);
    FrontendState& state = frontends_[target.key];
    state.owner = service.id;
    SHOAL_TRY(program(target, state));
  }
  auto old = services_.find(service.id);
  if (old != services_.end()) {
    for (const Target& target : targets_of(old->second)) {
      if (!wanted.contains(target.key))
        SHOAL_TRY(drop(target.key));
    }
  }
  services_[service.id] = service;
  return {};
}

Status EbpfLoadBalancer::set_backends(const std::string& service_id,
                                      const std::vector<lb::Backend>& backends,
                                      const std::vector<lb::Backend>& ingress_backends) {
  auto it = services_.find(service_id);
  if (it == services_.end()) {
    return invalid_argument("service " + service_id, "is not known to the load balancer");
  }
  lb::Service changed = it->second;
  changed.backends = backends;
  changed.ingress_backends = ingress_backends;
  return upsert(changed);
}

Status EbpfLoadBalancer::remove(const std::string& service_id) {
  auto it = services_.find(service_id);
  if (it == services_.end()) {
    return {};
  }
  for (const Target& target : targets_of(it->second)) {
    SHOAL_TRY(drop(target.key));
  }
  services_.erase(it);
  return {};
}

std::vector<lb::Service> EbpfLoadBalancer::list() const {
  std::vector<lb::Service> result;
  for (const auto& [id, service] : services_)
    result.push_back(service);
  return result;
}

Status EbpfLoadBalancer::prune() {
  std::vector<Key> unclaimed;
  for (const auto& [key, state] : frontends_) {
    if (state.owner.empty())
      unclaimed.push_back(key);
  }
  for (const Key& key : unclaimed)
    SHOAL_TRY(drop(key));
  return {};
}

}  // namespace shoal::ebpf
