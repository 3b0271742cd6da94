#include "ebpf/ebpf_lb.h"

#include <arpa/inet.h>

#include <set>

#include "ebpf/slot_plan.h"

namespace shoal::ebpf {

Result<std::unique_ptr<EbpfLoadBalancer>> EbpfLoadBalancer::create(LbMapIo& maps) {
  std::unique_ptr<EbpfLoadBalancer> balancer(new EbpfLoadBalancer(maps));
  SHOAL_ASSIGN_OR_RETURN(auto existing, maps.services());
  for (const auto& [key, value] : existing) {
    FrontendState state{value.id, value.generation & 1, value.slot_count, {}};
    balancer->frontends_[Key{key.vip, key.port, key.proto}] = state;
    balancer->next_id_ = std::max(balancer->next_id_, value.id + 1);
  }
  return balancer;
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

Status EbpfLoadBalancer::program(const lb::Frontend& frontend,
                                 const std::vector<lb::Backend>& backends, FrontendState& state) {
  const std::vector<Ipv4> slots = plan_slots(backends, SHOAL_LB_MAX_SLOTS);
  const uint32_t generation = state.slot_count == 0 && state.id == 0 ? 0 : state.generation ^ 1;
  if (state.id == 0) {
    state.id = next_id_++;
  }
  const uint16_t target = htons(frontend.target_port != 0 ? frontend.target_port : frontend.port);
  for (uint32_t i = 0; i < slots.size(); ++i) {
    shoal_lb_slot_key slot{state.id, generation * SHOAL_LB_MAX_SLOTS + i};
    shoal_lb_backend backend{};
    backend.ip = slots[i].network_order();
    backend.port = target;
    SHOAL_TRY(maps_->put_slot(slot, backend));
  }
  shoal_lb_service value{};
  value.id = state.id;
  value.slot_count = static_cast<uint32_t>(slots.size());
  value.generation = generation;
  SHOAL_TRY(maps_->put_service(map_key(key_of(frontend)), value));
  state.generation = generation;
  state.slot_count = value.slot_count;
  return {};
}

Status EbpfLoadBalancer::drop(const Key& key) {
  auto it = frontends_.find(key);
  if (it == frontends_.end()) {
    return {};
  }
  SHOAL_TRY(maps_->delete_service(map_key(key)));
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
  for (const lb::Frontend& frontend : service.frontends) {
    auto it = frontends_.find(key_of(frontend));
    if (it != frontends_.end() && !it->second.owner.empty() && it->second.owner != service.id) {
      return invalid_argument("service " + service.id, "frontend " + frontend.vip.str() + ":" +
                                                           std::to_string(frontend.port) +
                                                           " belongs to service " +
                                                           it->second.owner);
    }
  }
  std::set<Key> wanted;
  for (const lb::Frontend& frontend : service.frontends) {
    wanted.insert(key_of(frontend));
    FrontendState& state = frontends_[key_of(frontend)];
    state.owner = service.id;
    SHOAL_TRY(program(frontend, service.backends, state));
  }
  auto old = services_.find(service.id);
  if (old != services_.end()) {
    for (const lb::Frontend& frontend : old->second.frontends) {
      if (!wanted.contains(key_of(frontend)))
        SHOAL_TRY(drop(key_of(frontend)));
    }
  }
  services_[service.id] = service;
  return {};
}

Status EbpfLoadBalancer::set_backends(const std::string& service_id,
                                      const std::vector<lb::Backend>& backends) {
  auto it = services_.find(service_id);
  if (it == services_.end()) {
    return invalid_argument("service " + service_id, "is not known to the load balancer");
  }
  lb::Service changed = it->second;
  changed.backends = backends;
  return upsert(changed);
}

Status EbpfLoadBalancer::remove(const std::string& service_id) {
  auto it = services_.find(service_id);
  if (it == services_.end()) {
    return {};
  }
  for (const lb::Frontend& frontend : it->second.frontends) {
    SHOAL_TRY(drop(key_of(frontend)));
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
