// One conformance suite for every load-balancer backend, on the real kernel: a node namespace
// with an uplink to an outside client and a link to a namespace holding three tasks (servers
// t1..t3). Tasks on the node reach VIPs; the outside client reaches published ports.
// Built once per backend (see backend_under_test.h): eBPF here, IPVS inside the VM.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "tests/conformance/backend_under_test.h"
#include "tests/conformance/node_topology.h"
#include "tests/support/assertions.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::conformance {
namespace {

using testing::ip;
using testing::run_command;
using testing::tally;

class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    auto topology = NodeTopology::create();
    ASSERT_TRUE(topology.ok()) << topology.error().message();
    topology_ = std::move(*topology);
    node_ = topology_->node();
    outside_ = topology_->outside();
    auto backend = make_backend(node_);
    ASSERT_TRUE(backend.ok()) << backend.error().message();
    backend_ = std::move(*backend);
  }

  void TearDown() override {
    if (backend_) {
      Status down = backend_->teardown();
      EXPECT_TRUE(down.ok()) << down.error().message();
      backend_.reset();
    }
    topology_.reset();
  }

  lb::LoadBalancer& lb() { return backend_->balancer(); }

  static std::vector<lb::Backend> tasks(std::initializer_list<int> which) {
    return NodeTopology::tasks(which);
  }

  static std::string probe_path() { return testing::build_path("tests/support/shoal-lb-probe"); }

  // A task on the node connecting to vip:port.
  std::vector<std::string> from_task(const std::string& mode, Ipv4 vip, uint16_t port, int n) {
    auto result = run_command(
        backend_->as_task({probe_path(), mode, vip.str(), std::to_string(port), std::to_string(n)}),
        120000);
    EXPECT_TRUE(result.ok());
    return testing::output_lines(result);
  }

  // The outside client connecting to the node's address on a published port.
  std::vector<std::string> from_outside(uint16_t port, int n) {
    auto result = testing::run_in_ns(
        outside_,
        {probe_path(), "tcp", node_.node_ip.str(), std::to_string(port), std::to_string(n)},
        120000);
    EXPECT_TRUE(result.ok());
    return testing::output_lines(result);
  }

  static int errors(const std::vector<std::string>& lines) {
    int n = 0;
    for (const std::string& line : lines) {
      n += line.rfind("error:", 0) == 0 ? 1 : 0;
    }
    return n;
  }

  std::unique_ptr<NodeTopology> topology_;
  Node node_;
  std::string outside_;
  std::unique_ptr<BackendUnderTest> backend_;
};

const Ipv4 kVip = ip("10.77.100.1");

lb::Service web(std::vector<lb::Backend> backends) {
  lb::Service s;
  s.id = "web";
  s.frontends = {lb::Frontend{kVip, 80, lb::Protocol::kTcp, kTaskPort},
                 lb::Frontend{kVip, 53, lb::Protocol::kUdp, kTaskPort}};
  s.backends = std::move(backends);
  return s;
}

TEST_F(Conformance, AVipSpreadsConnectionsAndDatagramsOverEveryBackend) {
  ASSERT_OK(lb().upsert(web(tasks({1, 2, 3}))));
  auto counts = tally(from_task("tcp", kVip, 80, 30));
  for (const char* t : kTasks) {
    EXPECT_GE(counts[t], 3) << t << " got too few of 30: " << ::testing::PrintToString(counts);
  }
  EXPECT_EQ(counts["t1"] + counts["t2"] + counts["t3"], 30) << ::testing::PrintToString(counts);
  auto datagrams = from_task("udp", kVip, 53, 15);
  ASSERT_EQ(datagrams.size(), 15u);
  EXPECT_EQ(errors(datagrams), 0) << ::testing::PrintToString(datagrams);
  std::map<std::string, int> replies;
  for (const std::string& line : datagrams) {
    replies[line.substr(0, line.find(' '))]++;
  }
  EXPECT_GE(replies.size(), 2u) << ::testing::PrintToString(datagrams);
}

TEST_F(Conformance, AVipForEveryPortKeepsThePortAsked) {
  lb::Service any;
  any.id = "any";
  any.frontends = {lb::Frontend{kVip, 0, lb::Protocol::kTcp, 0}};
  any.backends = tasks({2});
  ASSERT_OK(lb().upsert(any));
  auto lines = from_task("tcp", kVip, kTaskPort, 3);
  EXPECT_EQ(tally(lines)["t2"], 3) << ::testing::PrintToString(lines);
  EXPECT_EQ(errors(from_task("tcp", kVip, kTaskPort + 1, 1)), 1);  // nothing listens there
}

TEST_F(Conformance, ARemovedBackendKeepsItsOpenConnectionAndGetsNoNewOnes) {
  ASSERT_OK(lb().upsert(web(tasks({1, 2, 3}))));
  auto held = std::async(std::launch::async, [&] { return from_task("hold", kVip, 80, 4); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string chosen;
  while (chosen.empty() && std::chrono::steady_clock::now() < deadline) {
    for (const auto& [name, server] : topology_->servers()) {
      if (server->connections() == 1) {
        chosen = name;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(chosen.empty()) << "the held connection reached no backend";
  std::vector<lb::Backend> rest;
  for (int i = 1; i <= 3; ++i) {
    if (chosen != kTasks[i - 1]) {
      rest.push_back(tasks({i})[0]);
    }
  }
  ASSERT_OK(lb().set_backends("web", rest, {}));
  auto counts = tally(from_task("tcp", kVip, 80, 12));
  EXPECT_EQ(counts.count(chosen), 0u) << "the removed backend " << chosen << " got new ones";
  EXPECT_EQ(counts.size(), 2u) << ::testing::PrintToString(counts);
  auto lines = held.get();
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], chosen);
  EXPECT_EQ(lines[1], "ping") << "the open connection to the removed backend broke";
}

TEST_F(Conformance, AServiceWithoutBackendsRefusesAndThenServesOnceOneComes) {
  ASSERT_OK(lb().upsert(web({})));
  auto lines = from_task("tcp", kVip, 80, 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(errors(lines), 3) << ::testing::PrintToString(lines);
  ASSERT_OK(lb().set_backends("web", tasks({3}), {}));
  EXPECT_EQ(tally(from_task("tcp", kVip, 80, 3))["t3"], 3);
}

TEST_F(Conformance, APublishedPortAnswersOnANodeWithoutATask) {
  lb::Service s;
  s.id = "web";
  s.published = {lb::PublishedPort{8080, lb::Protocol::kTcp, kTaskPort}};
  s.ingress_backends = tasks({1, 2});  // on the ingress network, none on this node
  ASSERT_OK(lb().upsert(s));
  auto counts = tally(from_outside(8080, 20));
  EXPECT_GE(counts["t1"], 2) << ::testing::PrintToString(counts);
  EXPECT_GE(counts["t2"], 2) << ::testing::PrintToString(counts);
  EXPECT_EQ(counts["t1"] + counts["t2"], 20) << ::testing::PrintToString(counts);
}

TEST_F(Conformance, ModeHostAnswersOnlyWithTheNodesOwnTasks) {
  lb::Service s;
  s.id = "web";
  s.published = {lb::PublishedPort{9090, lb::Protocol::kTcp, kTaskPort}};
  ASSERT_OK(lb().upsert(s));  // no task on this node: the port does not answer
  EXPECT_EQ(errors(from_outside(9090, 2)), 2);
  ASSERT_OK(lb().set_backends("web", {}, tasks({3})));
  EXPECT_EQ(tally(from_outside(9090, 6))["t3"], 6);
  ASSERT_OK(lb().set_backends("web", {}, {}));
  EXPECT_EQ(errors(from_outside(9090, 2)), 2);
}

TEST_F(Conformance, ManyServicesEachReachTheirOwnBackend) {
  constexpr int kServices = 200;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kServices; ++i) {
    lb::Service s;
    s.id = "svc" + std::to_string(i);
    s.frontends = {lb::Frontend{Ipv4(ip("10.77.101.0").host_order() + static_cast<uint32_t>(i)), 80,
                                lb::Protocol::kTcp, kTaskPort}};
    s.backends = tasks({1 + i % 3});
    ASSERT_OK(lb().upsert(s));
  }
  const auto loaded = std::chrono::steady_clock::now() - start;
  std::cout << backend_kind() << ": " << kServices << " services loaded in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(loaded).count() << " ms\n";
  EXPECT_EQ(lb().list().size(), static_cast<size_t>(kServices));
  for (int i = 0; i < kServices; i += 23) {
    const Ipv4 vip(ip("10.77.101.0").host_order() + static_cast<uint32_t>(i));
    auto lines = from_task("tcp", vip, 80, 1);
    EXPECT_EQ(lines, std::vector<std::string>{kTasks[i % 3]}) << "service " << i;
  }
  for (int i = 0; i < kServices; i += 2) {
    ASSERT_OK(lb().remove("svc" + std::to_string(i)));
  }
  EXPECT_EQ(lb().list().size(), static_cast<size_t>(kServices / 2));
  EXPECT_EQ(errors(from_task("tcp", Ipv4(ip("10.77.101.0").host_order()), 80, 1)), 1);
  EXPECT_EQ(from_task("tcp", Ipv4(ip("10.77.101.0").host_order() + 1), 80, 1),
            std::vector<std::string>{kTasks[1]});
}

}  // namespace
}  // namespace shoal::conformance
