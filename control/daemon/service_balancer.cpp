#include "control/daemon/service_balancer.h"

namespace shoal::daemon {

Result<dataplane::Netns> open_netns(const std::string& netns) {
  if (netns.empty())
    return dataplane::Netns::current();
  if (netns.front() == '/')
    return dataplane::Netns::open_path(netns);
  return dataplane::Netns::open_named(netns);
}

Result<std::unique_ptr<ServiceBalancer>> make_balancer(lb::BackendKind kind,
                                                       const BalancerConfig& config) {
  return kind == lb::BackendKind::kIpvs ? make_ipvs_balancer(config) : make_ebpf_balancer(config);
}

}  // namespace shoal::daemon
