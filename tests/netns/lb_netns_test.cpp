// The eBPF VIP load balancer on the real kernel: three simulated hosts on an overlay, three
// backends on hosts 1 and 2, a client process on host 3 inside host 3's node cgroup.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <sstream>

#include "dataplane/libnl_kernel.h"
#include "dataplane/overlay.h"
#include "ebpf/ebpf_lb.h"
#include "ebpf/lb_program.h"
#include "tests/support/assertions.h"
#include "tests/support/private_mounts.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::ebpf {
namespace {

using testing::tally;

using dataplane::EndpointSpec;
using dataplane::LibnlKernel;
using dataplane::NetworkSpec;
using dataplane::Overlay;
using dataplane::PeerSpec;
using testing::NamedServer;
using testing::run_command;
using testing::Testbed;

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

using testing::ip;

struct Endpoint {
  const char* id;
  int host;
  const char* address;
};
// Three backends on hosts 1 and 2, the client on host 3.
const Endpoint kEndpoints[] = {{"b1", 1, "10.10.1.11"},
                               {"b2", 1, "10.10.1.21"},
                               {"b3", 2, "10.10.1.12"},
                               {"c3", 3, "10.10.1.13"}};
const Ipv4 kVip = ip("10.10.1.100");

class VipLoadBalancing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    auto bed = Testbed::create(3);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    const NetworkSpec red{"red", 4100, *Ipv4Prefix::parse("10.10.1.0/24"), ip("10.10.1.1"),
                          std::nullopt};
    for (int h = 1; h <= 3; ++h) {
      auto host = dataplane::Netns::open_named(bed_->host_ns(h));
      ASSERT_TRUE(host.ok()) << host.error().message();
      auto kernel = LibnlKernel::create(std::move(*host));
      ASSERT_TRUE(kernel.ok());
      kernels_.push_back(std::move(*kernel));
      auto overlay =
          Overlay::create({bed_->node_tag(h), bed_->host_ip(h), std::nullopt}, *kernels_.back());
      ASSERT_TRUE(overlay.ok());
      overlays_.push_back(std::make_unique<Overlay>(std::move(*overlay)));
      ASSERT_OK(overlays_.back()->ensure(red));
    }
    for (const Endpoint& e : kEndpoints) {
      EndpointSpec spec;
      spec.network_id = "red";
      spec.id = e.id;
      spec.ip = ip(e.address);
      ASSERT_OK(overlays_[e.host - 1]->attach(spec));
      for (int h = 1; h <= 3; ++h) {
        ASSERT_OK(overlays_[h - 1]->add_peer(
            PeerSpec{"red", ip(e.address), Mac::from_ipv4(ip(e.address)), bed_->host_ip(e.host)}));
      }
      if (e.id[0] == 'b') {
        auto server = NamedServer::start(ns_of(e), ip(e.address), 8080, e.id);
        ASSERT_TRUE(server.ok()) << server.error().message();
        servers_[e.id] = std::move(*server);
      }
    }
    load_balancer();
    ASSERT_OK(balancer_->upsert(service({"b1", "b2", "b3"})));
  }

  void TearDown() override {
    if (program_) {
      EXPECT_TRUE(program_->uninstall().ok());
      struct stat st {};
      EXPECT_NE(::stat(program_->pin_dir().c_str(), &st), 0) << "pins left behind";
      EXPECT_NE(::stat(program_->cgroup().c_str(), &st), 0) << "cgroup left behind";
    }
    balancer_.reset();
    program_.reset();
    servers_.clear();
    overlays_.clear();
    kernels_.clear();
    bed_.reset();
  }

  void load_balancer() {
    balancer_.reset();
    program_.reset();
    LbProgramConfig config;
    config.node = bed_->node_tag(3);
    auto program = LbProgram::load(config);
    ASSERT_TRUE(program.ok()) << program.error().message();
    program_ = std::move(*program);
    maps_ = std::make_unique<BpfLbMapIo>(program_->services_fd(), program_->slots_fd());
    auto balancer = EbpfLoadBalancer::create(*maps_);
    ASSERT_TRUE(balancer.ok()) << balancer.error().message();
    balancer_ = std::move(*balancer);
  }

  std::string ns_of(const Endpoint& e) const {
    return dataplane::endpoint_netns(bed_->node_tag(e.host), e.id);
  }

  static lb::Service service(const std::vector<std::string>& backends) {
    lb::Service s;
    s.id = "web";
    s.frontends = {lb::Frontend{kVip, 80, lb::Protocol::kTcp, 8080},
                   lb::Frontend{kVip, 53, lb::Protocol::kUdp, 8080}};
    for (const Endpoint& e : kEndpoints) {
      if (std::find(backends.begin(), backends.end(), e.id) != backends.end()) {
        s.backends.push_back({ip(e.address)});
      }
    }
    return s;
  }

  // Runs the probe as a task would run: in the client's namespace and host 3's node cgroup.
  std::vector<std::string> probe(const std::string& mode, uint16_t port, int n) {
    const std::string command =
        "echo $$ > " + program_->cgroup() + "/cgroup.procs && exec ip netns exec " +
        ns_of(kEndpoints[3]) + " " + testing::build_path("tests/support/shoal-lb-probe") + " " +
        mode + " " + kVip.str() + " " + std::to_string(port) + " " + std::to_string(n);
    auto result = run_command({"sh", "-c", command}, 60000);
    EXPECT_TRUE(result.ok());
    return testing::output_lines(result);
  }

  std::unique_ptr<Testbed> bed_;
  std::vector<std::unique_ptr<LibnlKernel>> kernels_;
  std::vector<std::unique_ptr<Overlay>> overlays_;
  std::map<std::string, std::unique_ptr<NamedServer>> servers_;
  std::unique_ptr<LbProgram> program_;
  std::unique_ptr<BpfLbMapIo> maps_;
  std::unique_ptr<EbpfLoadBalancer> balancer_;
};

TEST_F(VipLoadBalancing, TcpConnectionsSpreadOverEveryBackend) {
  auto counts = tally(probe("tcp", 80, 60));
  EXPECT_EQ(counts["b1"] + counts["b2"] + counts["b3"], 60) << ::testing::PrintToString(counts);
  for (const char* backend : {"b1", "b2", "b3"}) {
    EXPECT_GE(counts[backend], 5) << backend
                                  << " got too few of 60: " << ::testing::PrintToString(counts);
  }
}

TEST_F(VipLoadBalancing, ARemovedBackendKeepsItsConnectionAndGetsNoNewOnes) {
  auto held = std::async(std::launch::async, [&] { return probe("hold", 80, 3); });
  // Wait until the held connection has its backend.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string chosen;
  while (chosen.empty() && std::chrono::steady_clock::now() < deadline) {
    for (const auto& [name, server] : servers_) {
      if (server->connections() == 1)
        chosen = name;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(chosen.empty());
  std::vector<std::string> rest;
  for (const char* b : {"b1", "b2", "b3"}) {
    if (chosen != b)
      rest.push_back(b);
  }
  ASSERT_OK(balancer_->set_backends("web", service(rest).backends, {}));

  auto counts = tally(probe("tcp", 80, 30));
  EXPECT_EQ(counts[chosen], 0) << "the removed backend " << chosen << " got new connections";
  EXPECT_EQ(counts[rest[0]] + counts[rest[1]], 30);
  auto lines = held.get();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], chosen);
  EXPECT_EQ(lines[1], "ping") << "the open connection to the removed backend broke";
}

TEST_F(VipLoadBalancing, AVipForEveryPortKeepsThePortTheTaskAskedFor) {
  lb::Service any = service({"b1", "b2", "b3"});
  any.id = "any";
  any.frontends = {lb::Frontend{ip("10.10.1.101"), 0, lb::Protocol::kTcp, 0}};
  ASSERT_OK(balancer_->upsert(any));
  const std::string command = "echo $$ > " + program_->cgroup() +
                              "/cgroup.procs && exec ip netns exec " + ns_of(kEndpoints[3]) + " " +
                              testing::build_path("tests/support/shoal-lb-probe") +
                              " tcp 10.10.1.101 8080 12";
  auto result = run_command({"sh", "-c", command}, 60000);
  ASSERT_TRUE(result.ok());
  std::istringstream in(result->output);
  int answered = 0;
  for (std::string line; std::getline(in, line);)
    answered += line.size() == 2 && line[0] == 'b';
  EXPECT_EQ(answered, 12) << result->output;
}

TEST_F(VipLoadBalancing, NoBackendRefusesAtOnce) {
  ASSERT_OK(balancer_->set_backends("web", {}, {}));
  const auto start = std::chrono::steady_clock::now();
  auto lines = probe("tcp", 80, 1);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "error: Operation not permitted");
  EXPECT_LT(took, std::chrono::seconds(1)) << "the refusal was not immediate";
}

TEST_F(VipLoadBalancing, UdpIsBalancedAndRepliesComeFromTheVip) {
  auto lines = probe("udp", 53, 30);
  ASSERT_EQ(lines.size(), 30u);
  std::map<std::string, int> backends;
  for (const std::string& line : lines) {
    ASSERT_NE(line.find(" from " + kVip.str() + ":53"), std::string::npos) << line;
    ++backends[line.substr(0, line.find(' '))];
  }
  EXPECT_GE(backends.size(), 2u) << ::testing::PrintToString(backends);
}

TEST_F(VipLoadBalancing, AnAgentRestartDropsNoConnectionAndKeepsTheService) {
  auto held = std::async(std::launch::async, [&] { return probe("hold", 80, 3); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  load_balancer();  // the old agent's objects are closed; the pins carry over
  ASSERT_OK(balancer_->upsert(service({"b1", "b2", "b3"})));
  ASSERT_OK(balancer_->prune());
  auto counts = tally(probe("tcp", 80, 15));
  EXPECT_EQ(counts["b1"] + counts["b2"] + counts["b3"], 15) << ::testing::PrintToString(counts);
  auto lines = held.get();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "ping") << "the connection held across the restart broke";
}

}  // namespace
}  // namespace shoal::ebpf
