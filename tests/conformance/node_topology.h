// The conformance suite's node, built with iproute2 (by absolute path: in the VM, busybox's sh
// prefers its own `ip`): a node namespace with an uplink to an outside client's namespace and a
// link to a namespace holding three tasks (servers t1..t3 on 10.77.0.11-13:8080). Removed, with
// everything in it, by the destructor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/lb/load_balancer.h"
#include "tests/conformance/backend_under_test.h"
#include "tests/support/traffic.h"

namespace shoal::conformance {

inline constexpr const char* kIp = "/usr/sbin/ip";
inline constexpr uint16_t kTaskPort = 8080;
inline const char* const kTasks[] = {"t1", "t2", "t3"};
inline const char* const kTaskIps[] = {"10.77.0.11", "10.77.0.12", "10.77.0.13"};

class NodeTopology {
 public:
  static Result<std::unique_ptr<NodeTopology>> create();
  ~NodeTopology();
  NodeTopology(const NodeTopology&) = delete;
  NodeTopology& operator=(const NodeTopology&) = delete;

  const Node& node() const { return node_; }
  const std::string& outside() const { return outside_; }
  std::map<std::string, std::unique_ptr<testing::NamedServer>>& servers() { return servers_; }

  // Tasks by number (1..3) as load-balancer backends.
  static std::vector<lb::Backend> tasks(std::initializer_list<int> which);

 private:
  NodeTopology() = default;
  Status build();

  Node node_;
  std::string outside_;
  std::string tasks_ns_;
  std::map<std::string, std::unique_ptr<testing::NamedServer>> servers_;
};

}  // namespace shoal::conformance
