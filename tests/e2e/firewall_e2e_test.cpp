// The node firewall in a real swarm (#18 items 6-7, review findings #7, #8, #15), on simulated
// hosts: hosts 1 (manager) and 2 (worker) form the swarm, host 3 runs a shoald outside it.
// Service `target` (overlay `app` only) runs on host 2; service `front`, published on 8080,
// runs on host 1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "dataplane/netns.h"
#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/packet.h"
#include "tests/support/traffic.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

using namespace std::chrono_literals;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kManager = 1;
constexpr int kWorker = 2;
constexpr int kOutside = 3;
constexpr uint16_t kTaskPort = 9999;

std::string web_command() {
  return std::string("exec ") + SHOAL_LB_BENCH_PATH + " http 0.0.0.0 80 \"web $(hostname)\"";
}

class SwarmFirewall : public SharedSwarmTest<SwarmFirewall> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = 3, .members = 2};

  static std::string grow(SwarmCluster& c) {
    if (auto error = c.create_app_network(); !error.empty())
      return error;
    if (!c.create_service("target", 1, "exec sleep 1000", {"--constraint", "node.hostname==h2"}) ||
        !c.create_service("front", 1, web_command(),
                          {"--publish", "8080:80", "--constraint", "node.hostname==h1"}) ||
        !c.wait_running("target", 1) || !c.wait_running("front", 1)) {
      return "services did not start: " + c.ps_text("target") + c.ps_text("front");
    }
    return "";
  }

 protected:
  TaskRow running(const std::string& service) {
    for (const auto& task : c().ps(service)) {
      if (task.current_running())
        return task;
    }
    ADD_FAILURE() << "no running task of " << service;
    return {};
  }

  // A field of `network inspect`.
  nlohmann::json network(const std::string& name) {
    auto shown = c().shoal(kManager, {"network", "inspect", name});
    auto json = nlohmann::json::parse(shown.output, nullptr, false);
    if (json.is_array() && !json.empty())
      json = json[0];
    EXPECT_TRUE(json.is_object()) << shown.output;
    return json;
  }
};

TEST_F(SwarmFirewall, AnOutsideHostsForgedVxlanDatagramDoesNotReachATask) {
  const TaskRow task = running("target");
  ASSERT_EQ(task.node, c().hostname(kWorker));
  auto task_ip = Ipv4::parse(c().task_address(task));
  ASSERT_TRUE(task_ip.ok());
  const auto vni = network("app").value("VNI", 0u);
  ASSERT_NE(vni, 0u);
  const std::string ns = c().task_namespace(task);
  UniqueFd listener = testing::udp_listener(ns, *task_ip, kTaskPort);
  ASSERT_TRUE(listener.valid());

  // Repro A5: a datagram into the task claiming to come from another address of its network.
  const Ipv4 claimed(task_ip->host_order() + 100);
  const auto datagram = testing::forged_vxlan_datagram(vni, claimed, *task_ip, kTaskPort);
  auto arrives_from = [&](int host) {
    testing::send_udp(c().testbed().host_ns(host), c().testbed().host_ip(kWorker), 4789, datagram);
    pollfd p{listener.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1)
      return false;
    char buf[256];
    return ::recv(listener.get(), buf, sizeof buf, 0) > 0;
  };
  EXPECT_FALSE(arrives_from(kOutside)) << "a host outside the swarm delivered into a task";
  // The same bytes from a member arrive: the filter is on the source, and the test can see one.
  EXPECT_TRUE(arrives_from(kManager)) << "a member's VXLAN datagram was dropped";
}

TEST_F(SwarmFirewall, ATaskWithAPublishedPortReachesNoneOfTheNodesPorts) {
  const TaskRow task = running("front");
  ASSERT_EQ(task.node, c().hostname(kManager));
  const std::string ns = c().task_namespace(task);
  auto gateway = Ipv4::parse(network("ingress").value("Gateway", ""));
  ASSERT_TRUE(gateway.ok());
  for (Ipv4 node : {c().testbed().host_ip(kManager), *gateway}) {
    for (uint16_t port : {uint16_t{2377}, uint16_t{7946}}) {
      auto reply = testing::tcp_exchange(ns, node, port, "x", 700);
      EXPECT_FALSE(reply.ok()) << "the task reached " << node.str() << ":" << port;
    }
  }
  // The mesh still answers outside clients, from this node and through the other one (the
  // overlay between members passes the filter both ways). The other node learns the task by
  // gossip, which may still be on its way when the task is RUNNING.
  for (int node : {kManager, kWorker}) {
    EXPECT_TRUE(testing::wait_until(
        [&] { return c().http_get(kOutside, node, 8080).find("web ") != std::string::npos; }, 15s,
        250ms))
        << "h" << node << "'s published port does not answer";
  }
}

TEST_F(SwarmFirewall, TheManagerPortListensOnTheAdvertiseAddressOnly) {
  auto listening =
      testing::run_in_ns(c().testbed().host_ns(kManager), {"ss", "-ltnH", "sport = :2377"});
  ASSERT_TRUE(listening.ok());
  // gRPC may bind an IPv4 address through an IPv6 socket, as [::ffff:ADDR].
  EXPECT_THAT(listening->output,
              ::testing::AnyOf(HasSubstr(" " + c().address(kManager) + ":2377"),
                               HasSubstr("[::ffff:" + c().address(kManager) + "]:2377")));
  EXPECT_THAT(listening->output, Not(HasSubstr("*:2377")));
  EXPECT_THAT(listening->output, Not(HasSubstr("0.0.0.0:2377")));
}

}  // namespace
}  // namespace shoal::e2e
