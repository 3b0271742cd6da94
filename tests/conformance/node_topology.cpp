#include "tests/conformance/node_topology.h"

#include <unistd.h>

#include "tests/support/testbed.h"

namespace shoal::conformance {
namespace {

Status sh(const std::string& command) {
  auto result = testing::run_command({"sh", "-c", command}, 20000);
  if (!result.ok()) {
    return std::move(result).error();
  }
  if (result->exit_code != 0) {
    return sys_error("run", command, 0, result->output);
  }
  return {};
}

}  // namespace

std::vector<lb::Backend> NodeTopology::tasks(std::initializer_list<int> which) {
  std::vector<lb::Backend> out;
  for (int i : which) {
    out.push_back({*Ipv4::parse(kTaskIps[i - 1])});
  }
  return out;
}

Result<std::unique_ptr<NodeTopology>> NodeTopology::create() {
  std::unique_ptr<NodeTopology> topology(new NodeTopology());
  SHOAL_TRY(topology->build());
  return topology;
}

Status NodeTopology::build() {
  const std::string run = std::to_string(::getpid());
  node_.ns = "lbc" + run + "n";
  node_.tag = "t" + run + "r0h1";  // as testbed runs are named: testbed.sh clean finds it
  node_.node_ip = *Ipv4::parse("198.51.100.1");
  node_.ingress_ip = *Ipv4::parse("10.77.0.1");
  outside_ = "lbc" + run + "c";
  tasks_ns_ = "lbc" + run + "t";
  const std::string ip = kIp;
  for (const std::string& ns : {node_.ns, outside_, tasks_ns_}) {
    SHOAL_TRY(sh(ip + " netns add " + ns + " && " + ip + " -n " + ns + " link set lo up"));
  }
  const std::string n = ip + " -n " + node_.ns + " ";
  SHOAL_TRY(sh(n + "link add eth0 type veth peer name up0 netns " + outside_));
  SHOAL_TRY(sh(n + "link add ingress0 type veth peer name tasks0 netns " + tasks_ns_));
  SHOAL_TRY(sh(n + "addr add 198.51.100.1/24 dev eth0 && " + n + "link set eth0 up"));
  SHOAL_TRY(sh(n + "addr add 10.77.0.1/24 dev ingress0 && " + n + "link set ingress0 up"));
  const std::string o = ip + " -n " + outside_ + " ";
  SHOAL_TRY(sh(o + "addr add 198.51.100.2/24 dev up0 && " + o + "link set up0 up"));
  const std::string t = ip + " -n " + tasks_ns_ + " ";
  for (const char* address : kTaskIps) {
    SHOAL_TRY(sh(t + "addr add " + address + "/24 dev tasks0"));
  }
  SHOAL_TRY(sh(t + "link set tasks0 up && " + t + "route add default via 10.77.0.1"));
  for (int i = 0; i < 3; ++i) {
    SHOAL_ASSIGN_OR_RETURN(
        auto server,
        testing::NamedServer::start(tasks_ns_, *Ipv4::parse(kTaskIps[i]), kTaskPort, kTasks[i]));
    servers_[kTasks[i]] = std::move(server);
  }
  return {};
}

NodeTopology::~NodeTopology() {
  servers_.clear();
  for (const std::string& ns : {node_.ns, outside_, tasks_ns_}) {
    if (!ns.empty()) {
      (void)testing::run_command({kIp, "netns", "del", ns});
    }
  }
}

}  // namespace shoal::conformance
