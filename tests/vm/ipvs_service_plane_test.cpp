// The service plane's IPVS balancer on a kernel with IPVS (run inside the VM, tests/vm), driven
// by endpoint records through the ServiceFeed as the gossiped table would drive it; no gossip,
// no manager. A node namespace with an uplink to an outside client and a bridge to three task
// namespaces: web.1 (t1) and web.2 (t2) serve on 8080, cli.1 (c3) is a client. One network,
// 10.77.0.0/24, carries both the service network "app" (web's VIP 10.77.0.100) and the ingress
// network (web publishes 8080) so that every task needs one link only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include "control/agent/plane/ipvs_service_balancer.h"
#include "control/agent/rows/service_feed.h"
#include "tests/support/assertions.h"
#include "tests/support/recording_sinks.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::agent {
namespace {

using testing::ip;
using testing::run_command;
using testing::tally;

constexpr const char* kIp = "/usr/sbin/ip";  // busybox's sh would prefer its own `ip`
constexpr uint16_t kPort = 8080;
const char* const kVip = "10.77.0.100";

struct TaskNs {
  const char* id;
  const char* service;
  const char* address;
};
const TaskNs kTasks[] = {
    {"t1", "web", "10.77.0.11"}, {"t2", "web", "10.77.0.12"}, {"c3", "cli", "10.77.0.13"}};

Status sh(const std::string& command) {
  auto result = run_command({"sh", "-c", command}, 20000);
  if (!result.ok())
    return std::move(result).error();
  if (result->exit_code != 0)
    return sys_error("run", command, 0, result->output);
  return {};
}

class IpvsServicePlane : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    const std::string run = std::to_string(::getpid());
    node_ = "isp" + run + "n";
    outside_ = "isp" + run + "o";
    bridge_ = "isp" + run + "b";
    for (const std::string& ns : {node_, outside_, bridge_}) {
      namespaces_.push_back(ns);
      ASSERT_OK(sh(std::string(kIp) + " netns add " + ns + " && " + kIp + " -n " + ns +
                   " link set lo up"));
    }
    const std::string n = std::string(kIp) + " -n " + node_ + " ";
    const std::string o = std::string(kIp) + " -n " + outside_ + " ";
    const std::string b = std::string(kIp) + " -n " + bridge_ + " ";
    ASSERT_OK(sh(b + "link add br0 type bridge && " + b + "link set br0 up"));
    ASSERT_OK(sh(n + "link add eth0 type veth peer name up0 netns " + outside_));
    ASSERT_OK(sh(n + "addr add 198.51.100.1/24 dev eth0 && " + n + "link set eth0 up"));
    ASSERT_OK(sh(o + "addr add 198.51.100.2/24 dev up0 && " + o + "link set up0 up"));
    ASSERT_OK(plug(node_, "ingress0", "10.77.0.1", "node"));
    for (const TaskNs& t : kTasks) {
      const std::string ns = task_ns(t);
      namespaces_.push_back(ns);
      ASSERT_OK(sh(std::string(kIp) + " netns add " + ns + " && " + kIp + " -n " + ns +
                   " link set lo up"));
      ASSERT_OK(plug(ns, "eth0", t.address, t.id));
      ASSERT_OK(sh(std::string(kIp) + " -n " + ns + " route add default via 10.77.0.1"));
      if (std::string(t.service) == "web") {
        auto server = testing::NamedServer::start(ns, Ipv4(), kPort, t.id);
        ASSERT_TRUE(server.ok()) << server.error().message();
        servers_[t.id] = std::move(*server);
      }
    }
    start_plane();
  }

  void TearDown() override {
    feed_.reset();
    if (balancer_) {
      Status down = balancer_->uninstall();
      EXPECT_TRUE(down.ok()) << down.error().message();
      balancer_.reset();
    }
    servers_.clear();
    for (const std::string& ns : namespaces_)
      (void)run_command({kIp, "netns", "del", ns});
  }

  // A veth from the bridge into ns, holding address/24.
  Status plug(const std::string& ns, const std::string& ifname, const std::string& address,
              const std::string& tag) {
    const std::string b = std::string(kIp) + " -n " + bridge_ + " ";
    const std::string in = std::string(kIp) + " -n " + ns + " ";
    SHOAL_TRY(sh(b + "link add p-" + tag + " type veth peer name " + ifname + " netns " + ns));
    SHOAL_TRY(sh(b + "link set p-" + tag + " master br0 up"));
    return sh(in + "addr add " + address + "/24 dev " + ifname + " && " + in + "link set " +
              ifname + " up");
  }

  std::string task_ns(const TaskNs& t) const { return "isp" + std::to_string(::getpid()) + t.id; }

  // The plane as shoald makes it: the node's instance in node_, a feed on top.
  void start_plane() {
    BalancerConfig config;
    config.node_netns = node_;
    auto made = make_ipvs_balancer(config);
    ASSERT_TRUE(made.ok()) << made.error().message();
    balancer_.reset(static_cast<IpvsServiceBalancer*>(made->release()));
    feed_ = std::make_unique<agent::ServiceFeed>("ingress", *balancer_, dns_);
  }

  // The executor's calls for every task, then the table's rows for every task.
  void attach_all() {
    for (const TaskNs& t : kTasks)
      ASSERT_OK(balancer_->attach_task(t.id, task_ns(t), {"app", "ingress"}));
  }
  void feed_all() {
    for (const TaskNs& t : kTasks) {
      for (const agent::EndpointRecord& row : rows(t))
        ASSERT_OK(feed_->upsert(row));
    }
  }

  static std::vector<agent::EndpointRecord> rows(const TaskNs& t) {
    agent::EndpointRecord app;
    app.service_id = t.service;
    app.service_name = t.service;
    app.network_id = "app";
    if (std::string(t.service) == "web")
      app.vip = ip(kVip);
    app.task_id = t.id;
    app.task_ip = ip(t.address);
    app.running = true;
    app.local = true;
    agent::EndpointRecord ingress = app;
    ingress.network_id = "ingress";
    ingress.vip.reset();
    if (std::string(t.service) == "web")
      ingress.published = {{kPort, kPort, lb::Protocol::kTcp, agent::PublishMode::kIngress, false}};
    if (std::string(t.service) != "web")
      return {app};
    return {app, ingress};
  }

  static std::string probe() { return testing::build_path("tests/support/shoal-lb-probe"); }

  std::vector<std::string> from_task(const char* id, const std::string& mode, int n) {
    const TaskNs& t = *std::find_if(std::begin(kTasks), std::end(kTasks),
                                    [&](const TaskNs& x) { return std::string(x.id) == id; });
    auto result = testing::run_in_ns(
        task_ns(t), {probe(), mode, kVip, std::to_string(kPort), std::to_string(n)}, 120000);
    EXPECT_TRUE(result.ok());
    return testing::output_lines(result);
  }

  std::vector<std::string> from_outside(int n) {
    auto result = testing::run_in_ns(
        outside_, {probe(), "tcp", "198.51.100.1", std::to_string(kPort), std::to_string(n)},
        120000);
    EXPECT_TRUE(result.ok());
    return testing::output_lines(result);
  }

  std::string in_ns(const std::string& ns, const std::string& command) {
    auto result = run_command({"sh", "-c", std::string(kIp) + " netns exec " + ns + " " + command});
    return result.ok() ? result->output : "error";
  }

  std::string node_;
  std::string outside_;
  std::string bridge_;
  std::vector<std::string> namespaces_;
  std::map<std::string, std::unique_ptr<testing::NamedServer>> servers_;
  testing::RecordingDns dns_;
  std::unique_ptr<IpvsServiceBalancer> balancer_;
  std::unique_ptr<agent::ServiceFeed> feed_;
};

TEST_F(IpvsServicePlane, ATaskReachesTheVipOfItsNetworkAndBothBackendsAnswer) {
  attach_all();
  feed_all();
  auto counts = tally(from_task("c3", "tcp", 20));
  EXPECT_GE(counts["t1"], 5) << ::testing::PrintToString(counts);
  EXPECT_GE(counts["t2"], 5) << ::testing::PrintToString(counts);
  EXPECT_EQ(counts["t1"] + counts["t2"], 20) << ::testing::PrintToString(counts);
  // The VIP lives in the tasks' namespaces only: not in the node's.
  EXPECT_EQ(in_ns(node_, "/usr/sbin/ip -o addr show").find(kVip), std::string::npos);
  EXPECT_NE(in_ns(task_ns(kTasks[2]), "/usr/sbin/ip -o addr show").find(kVip), std::string::npos);
}

TEST_F(IpvsServicePlane, APublishedPortAnswersFromTheNodesNamespace) {
  attach_all();
  feed_all();
  auto counts = tally(from_outside(20));
  EXPECT_GE(counts["t1"], 5) << ::testing::PrintToString(counts);
  EXPECT_GE(counts["t2"], 5) << ::testing::PrintToString(counts);
  EXPECT_EQ(counts["t1"] + counts["t2"], 20) << ::testing::PrintToString(counts);
}

TEST_F(IpvsServicePlane, ARemovedBackendGetsNoNewConnections) {
  attach_all();
  feed_all();
  ASSERT_OK(feed_->remove("web", "app", "t2"));
  ASSERT_OK(feed_->remove("web", "ingress", "t2"));
  EXPECT_EQ(tally(from_task("c3", "tcp", 8))["t1"], 8);
  EXPECT_EQ(tally(from_outside(8))["t1"], 8);
}

TEST_F(IpvsServicePlane, ATaskAttachedLaterGetsTheVipsAlreadyKnown) {
  feed_all();  // rows before the task's namespace is known, as after a table sync
  ASSERT_OK(balancer_->attach_task("c3", task_ns(kTasks[2]), {"app"}));
  auto counts = tally(from_task("c3", "tcp", 10));
  EXPECT_EQ(counts["t1"] + counts["t2"], 10) << ::testing::PrintToString(counts);
  // A task detached (stopping) keeps nothing open in its namespace.
  balancer_->detach_task("c3");
  EXPECT_EQ(balancer_->task("c3"), nullptr);
}

TEST_F(IpvsServicePlane, ARestartedAgentAdoptsWhatIpvsHasAndDropsNoConnection) {
  attach_all();
  feed_all();
  const std::string c3 = task_ns(kTasks[2]);
  const std::string marks_before = in_ns(c3, "/usr/sbin/nft list map ip shoal-ipvs vip_any");
  const std::string ports_before = in_ns(node_, "/usr/sbin/nft list map ip shoal-ipvs published");
  // A connection through the VIP stays open across the restart.
  auto held = std::async(std::launch::async, [&] { return from_task("c3", "hold", 6); });
  std::this_thread::sleep_for(std::chrono::seconds(2));

  feed_.reset();
  balancer_.reset();  // the agent goes: nothing is torn down
  start_plane();
  attach_all();  // the executor names its tasks again
  ASSERT_NE(balancer_->task("c3"), nullptr);
  EXPECT_EQ(balancer_->task("c3")->unclaimed(), 2u);  // web's VIP: every tcp port, every udp port
  EXPECT_EQ(balancer_->node()->unclaimed(), 1u);      // web's published port
  feed_all();                                         // the table comes back
  EXPECT_EQ(balancer_->task("c3")->unclaimed(), 0u);
  EXPECT_EQ(balancer_->node()->unclaimed(), 0u);
  ASSERT_OK(balancer_->prune());
  // The same marks: the services were kept, not made again.
  EXPECT_EQ(in_ns(c3, "/usr/sbin/nft list map ip shoal-ipvs vip_any"), marks_before);
  EXPECT_EQ(in_ns(node_, "/usr/sbin/nft list map ip shoal-ipvs published"), ports_before);

  auto lines = held.get();
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[1], "ping") << "the connection held across the restart broke";
  auto counts = tally(from_task("c3", "tcp", 10));
  EXPECT_EQ(counts["t1"] + counts["t2"], 10) << ::testing::PrintToString(counts);
  EXPECT_EQ(tally(from_outside(6)).size(), 2u);
}

TEST_F(IpvsServicePlane, UninstallRemovesTheNodesTableAndVipLink) {
  attach_all();
  feed_all();
  feed_.reset();
  ASSERT_OK(balancer_->uninstall());
  balancer_.reset();
  EXPECT_NE(in_ns(node_, "/usr/sbin/nft list table ip shoal-ipvs 2>&1; echo rc=$?").find("rc=1"),
            std::string::npos);
  EXPECT_EQ(in_ns(node_, "/usr/sbin/ip -o link show").find("shoal-ipvs0"), std::string::npos);
}

}  // namespace
}  // namespace shoal::agent
