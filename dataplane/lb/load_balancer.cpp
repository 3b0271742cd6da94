#include "dataplane/lb/load_balancer.h"

#include <set>
#include <tuple>

namespace shoal::lb {

Status validate_service(const Service& service) {
  const std::string what = "service " + service.id;
  if (service.id.empty() || service.id.size() > 64) {
    return invalid_argument(what, "id must be 1 to 64 characters");
  }
  std::set<std::tuple<uint32_t, uint16_t, uint8_t>> seen;
  for (const Frontend& f : service.frontends) {
    if (f.port == 0 && f.target_port != 0) {
      return invalid_argument(
          what, "frontend " + f.vip.str() + " takes every port (port 0) but names a target port");
    }
    if (f.protocol != Protocol::kTcp && f.protocol != Protocol::kUdp) {
      return invalid_argument(what, "frontend protocol must be tcp or udp");
    }
    if (!seen.insert({f.vip.host_order(), f.port, static_cast<uint8_t>(f.protocol)}).second) {
      return invalid_argument(
          what, "frontend " + f.vip.str() + ":" + std::to_string(f.port) + " is listed twice");
    }
  }
  std::set<std::pair<uint16_t, uint8_t>> ports;
  for (const PublishedPort& p : service.published) {
    if (p.port == 0) {
      return invalid_argument(what, "published port 0");
    }
    if (!ports.insert({p.port, static_cast<uint8_t>(p.protocol)}).second) {
      return invalid_argument(what, "port " + std::to_string(p.port) + " is published twice");
    }
  }
  for (const Frontend& f : service.frontends) {
    if (f.vip == Ipv4()) {
      return invalid_argument(what, "frontend VIP 0.0.0.0");
    }
  }
  std::vector<Backend> all = service.backends;
  all.insert(all.end(), service.ingress_backends.begin(), service.ingress_backends.end());
  for (const Backend& b : all) {
    if (b.weight > 1000) {
      return invalid_argument(
          what, "backend " + b.ip.str() + " weight " + std::to_string(b.weight) + " is above 1000");
    }
  }
  return {};
}

}  // namespace shoal::lb
