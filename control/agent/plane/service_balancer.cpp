#include "control/agent/plane/service_balancer.h"

#include "ebpf/ebpf_probe.h"
#include "ipvs/ipvs_probe.h"

namespace shoal::agent {

Result<dataplane::Netns> open_netns(const std::string& netns) {
  if (netns.empty())
    return dataplane::Netns::current();
  if (netns.front() == '/')
    return dataplane::Netns::open_path(netns);
  return dataplane::Netns::open_named(netns);
}

lb::KernelSupport probe_kernel() {
  return {lb::ebpf_available(), lb::ipvs_available()};
}

Result<std::unique_ptr<ServiceBalancer>> make_balancer(lb::BackendKind kind,
                                                       const BalancerConfig& config) {
  return kind == lb::BackendKind::kIpvs ? make_ipvs_balancer(config) : make_ebpf_balancer(config);
}

}  // namespace shoal::agent
