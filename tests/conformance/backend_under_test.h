// The conformance suite's view of a load-balancer backend: one test source, compiled once per
// backend against that backend's factory (ebpf_backend.cpp, ipvs_backend.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/lb/load_balancer.h"

namespace shoal::conformance {

// The node the backend serves: its namespace, its address on the uplink (where clients from
// outside reach published ports) and its address on the link to the tasks (ingress network).
struct Node {
  std::string ns;
  std::string tag;  // unique per run: names cgroups and pins
  std::string uplink = "eth0";
  Ipv4 node_ip;
  std::string ingress_link = "ingress0";
  Ipv4 ingress_ip;
};

class BackendUnderTest {
 public:
  virtual ~BackendUnderTest() = default;
  virtual lb::LoadBalancer& balancer() = 0;
  // argv run as a task on the node runs it (in the node's namespace; for eBPF, in its cgroup).
  virtual std::vector<std::string> as_task(const std::vector<std::string>& argv) const = 0;
  // Removes what the backend put in the kernel.
  virtual Status teardown() = 0;
};

Result<std::unique_ptr<BackendUnderTest>> make_backend(const Node& node);
// "ebpf" or "ipvs": what this binary tests.
const char* backend_kind();

}  // namespace shoal::conformance
