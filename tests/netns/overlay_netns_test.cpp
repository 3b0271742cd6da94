// The overlay on the real kernel: three simulated hosts (namespaces on an underlay bridge), two
// overlay networks with an endpoint on every host, traffic checked with ping and a TCP echo.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "dataplane/libnl_kernel.h"
#include "dataplane/overlay.h"
#include "tests/support/assertions.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::dataplane {
namespace {

using testing::run_command;
using testing::run_in_ns;
using testing::TcpEchoServer;
using testing::Testbed;

class TestEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { testing::clean_stale_runs(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new TestEnvironment);

struct Net {
  const char* id;
  uint32_t vni;
  uint8_t third_octet;
};
constexpr Net kRed{"red", 4100, 1};
constexpr Net kBlue{"blue", 4101, 2};

Ipv4 endpoint_ip(const Net& net, int host) {
  return Ipv4((10u << 24) | (10u << 16) | (uint32_t{net.third_octet} << 8) |
              static_cast<uint32_t>(10 + host));
}

NetworkSpec network_spec(const Net& net) {
  return NetworkSpec{net.id, net.vni,
                     Ipv4Prefix(Ipv4(endpoint_ip(net, 0).host_order() & ~0xffu), 24),
                     Ipv4((endpoint_ip(net, 0).host_order() & ~0xffu) | 1), std::nullopt};
}

std::string endpoint_id(const Net& net, int host) {
  return std::string(net.id) + std::to_string(host);
}

// One agent's view of one simulated host.
struct Host {
  std::unique_ptr<LibnlKernel> kernel;
  std::unique_ptr<Overlay> overlay;
};

Host open_host(const Testbed& bed, int h, std::optional<uint32_t> underlay_mtu = std::nullopt) {
  auto ns = Netns::open_named(bed.host_ns(h));
  EXPECT_TRUE(ns.ok()) << ns.error().message();
  auto kernel = LibnlKernel::create(std::move(*ns));
  EXPECT_TRUE(kernel.ok()) << kernel.error().message();
  Host host{std::move(*kernel), nullptr};
  auto overlay =
      Overlay::create(NodeConfig{bed.node_tag(h), bed.host_ip(h), underlay_mtu}, *host.kernel);
  EXPECT_TRUE(overlay.ok()) << overlay.error().message();
  host.overlay = std::make_unique<Overlay>(std::move(*overlay));
  return host;
}

class ThreeHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "netns tests create namespaces and need root";
    auto bed = Testbed::create(3);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    for (int h = 1; h <= 3; ++h)
      hosts_.push_back(open_host(*bed_, h));
    for (const Net& net : {kRed, kBlue}) {
      for (int h = 1; h <= 3; ++h) {
        ASSERT_OK(overlay(h).ensure(network_spec(net)));
        ASSERT_OK(overlay(h).attach(endpoint(net, h)));
        for (int other = 1; other <= 3; ++other) {
          ASSERT_OK(overlay(h).add_peer(peer(net, other)));  // its own is ignored
        }
      }
    }
  }

  void TearDown() override {
    hosts_.clear();
    if (!bed_)
      return;
    Testbed* bed = bed_.get();
    std::unique_ptr<Testbed> gone = std::move(bed_);
    const std::string run = bed->run();
    gone.reset();
    auto listed = run_command({"ip", "netns", "list"});
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->output.find("shoal-" + run), std::string::npos)
        << "namespaces of run " << run << " outlived the teardown:\n"
        << listed->output;
  }

  Overlay& overlay(int h) { return *hosts_.at(h - 1).overlay; }

  EndpointSpec endpoint(const Net& net, int h) const {
    EndpointSpec e;
    e.network_id = net.id;
    e.id = endpoint_id(net, h);
    e.ip = endpoint_ip(net, h);
    return e;
  }

  PeerSpec peer(const Net& net, int h) const {
    return PeerSpec{net.id, endpoint_ip(net, h), Mac::from_ipv4(endpoint_ip(net, h)),
                    bed_->host_ip(h)};
  }

  std::string ep_ns(const Net& net, int h) const {
    return endpoint_netns(bed_->node_tag(h), endpoint_id(net, h));
  }
  std::string sandbox(const Net& net, int h) const {
    return sandbox_netns(bed_->node_tag(h), net.id);
  }

  bool reaches(const Net& from_net, int from, const Net& to_net, int to) const {
    return testing::ping(ep_ns(from_net, from), endpoint_ip(to_net, to));
  }

  std::unique_ptr<Testbed> bed_;
  std::vector<Host> hosts_;
};

TEST_F(ThreeHosts, FullMeshPingAndTcpWithinEachNetwork) {
  for (const Net& net : {kRed, kBlue}) {
    std::vector<std::unique_ptr<TcpEchoServer>> servers;
    for (int h = 1; h <= 3; ++h) {
      auto server = TcpEchoServer::start(ep_ns(net, h), endpoint_ip(net, h), 7000);
      ASSERT_TRUE(server.ok()) << server.error().message();
      servers.push_back(std::move(*server));
    }
    for (int from = 1; from <= 3; ++from) {
      for (int to = 1; to <= 3; ++to) {
        if (from == to)
          continue;
        EXPECT_TRUE(reaches(net, from, net, to)) << net.id << " " << from << " -> " << to;
        const std::string message = "hello from " + std::to_string(from);
        auto reply = testing::tcp_exchange(ep_ns(net, from), endpoint_ip(net, to), 7000, message);
        ASSERT_TRUE(reply.ok()) << reply.error().message();
        EXPECT_EQ(*reply, message);
      }
    }
  }
}

TEST_F(ThreeHosts, NetworksAreIsolatedEvenWhenTheSenderTreatsTheOtherSubnetAsOnLink) {
  // Without this route the packet would simply have no route; with it, red's endpoint ARPs for
  // blue's address on red's segment, which must not reach blue's VNI on any host.
  auto route = run_in_ns(ep_ns(kRed, 1), {"ip", "route", "add", "10.10.2.0/24", "dev", "eth0"});
  ASSERT_TRUE(route.ok() && route->exit_code == 0) << (route.ok() ? route->output : "");
  for (int to = 1; to <= 3; ++to) {
    EXPECT_FALSE(reaches(kRed, 1, kBlue, to)) << "red1 reached blue" << to;
  }
  EXPECT_TRUE(reaches(kRed, 1, kRed, 2)) << "control: red1 still reaches red2";
}

TEST_F(ThreeHosts, RemovingAPeerCutsExactlyThatEndpoint) {
  ASSERT_TRUE(reaches(kRed, 1, kRed, 2));
  ASSERT_OK(overlay(1).remove_peer(peer(kRed, 2)));
  EXPECT_FALSE(reaches(kRed, 1, kRed, 2));
  EXPECT_TRUE(reaches(kRed, 1, kRed, 3));
  EXPECT_TRUE(reaches(kBlue, 1, kBlue, 2)) << "the same host in the other network is untouched";
  ASSERT_OK(overlay(1).add_peer(peer(kRed, 2)));
  EXPECT_TRUE(reaches(kRed, 1, kRed, 2));
}

// What identifies the kernel objects of a namespace: ifindex, name, master, MTU, up.
std::map<std::string, std::string> snapshot(NetKernel& kernel, const std::string& ns) {
  std::map<std::string, std::string> result;
  auto links = kernel.links(ns);
  EXPECT_TRUE(links.ok());
  for (const LinkInfo& link : *links) {
    result[link.name] = std::to_string(link.ifindex) + "/" + std::to_string(link.master) + "/" +
                        std::to_string(link.mtu) + "/" + (link.up ? "up" : "down");
  }
  auto neighbours = kernel.neighbours(ns, "vxlan0");
  if (neighbours.ok()) {
    for (const auto& [ip, mac] : *neighbours)
      result["neigh " + ip.str()] = mac.str();
  }
  return result;
}

TEST_F(ThreeHosts, EnsureAndAttachTwiceChangeNothing) {
  NetKernel& kernel = *hosts_[0].kernel;
  const auto sandbox_before = snapshot(kernel, sandbox(kRed, 1));
  const auto endpoint_before = snapshot(kernel, ep_ns(kRed, 1));
  ASSERT_EQ(sandbox_before.count("neigh " + endpoint_ip(kRed, 2).str()), 1u);

  ASSERT_OK(overlay(1).ensure(network_spec(kRed)));
  ASSERT_OK(overlay(1).attach(endpoint(kRed, 1)));
  EXPECT_EQ(snapshot(kernel, sandbox(kRed, 1)), sandbox_before);
  EXPECT_EQ(snapshot(kernel, ep_ns(kRed, 1)), endpoint_before);
}

TEST_F(ThreeHosts, RepairsABridgeDeletedUnderIt) {
  auto deleted = run_command({"ip", "-n", sandbox(kRed, 1), "link", "del", "br0"});
  ASSERT_TRUE(deleted.ok() && deleted->exit_code == 0);
  ASSERT_FALSE(reaches(kRed, 1, kRed, 2));
  ASSERT_OK(overlay(1).ensure(network_spec(kRed)));
  ASSERT_OK(overlay(1).attach(endpoint(kRed, 1)));  // the agent re-attaches its endpoints
  EXPECT_TRUE(reaches(kRed, 1, kRed, 2));
}

TEST_F(ThreeHosts, RepairsWhatAKilledAgentLeft) {
  // A stale device holding the VNI in the host namespace, and a sandbox with nothing in it.
  const std::string host = bed_->host_ns(1);
  auto stale = run_command({"ip", "-n", host, "link", "add", "vxstale", "type", "vxlan", "id",
                            "4200", "local", bed_->host_ip(1).str(), "dstport", "4789"});
  ASSERT_TRUE(stale.ok() && stale->exit_code == 0) << (stale.ok() ? stale->output : "");
  const Net green{"green", 4200, 3};
  ASSERT_OK(hosts_[0].kernel->netns_create(sandbox(green, 1)));

  ASSERT_OK(overlay(1).ensure(network_spec(green)));
  auto left = hosts_[0].kernel->link("", "vxstale");
  ASSERT_TRUE(left.ok());
  EXPECT_FALSE(left->has_value()) << "the stale VXLAN was removed";
  ASSERT_OK(overlay(2).ensure(network_spec(green)));
  ASSERT_OK(overlay(1).attach(endpoint(green, 1)));
  ASSERT_OK(overlay(2).attach(endpoint(green, 2)));
  ASSERT_OK(overlay(1).add_peer(peer(green, 2)));
  ASSERT_OK(overlay(2).add_peer(peer(green, 1)));
  EXPECT_TRUE(reaches(green, 1, green, 2));
}

TEST_F(ThreeHosts, ARestartedAgentKeepsTheSandboxAndSyncsItsPeers) {
  auto before = snapshot(*hosts_[0].kernel, sandbox(kRed, 1));
  hosts_[0] = open_host(*bed_, 1);  // a new agent: no memory of the peers it programmed
  ASSERT_OK(overlay(1).ensure(network_spec(kRed)));
  auto after = snapshot(*hosts_[0].kernel, sandbox(kRed, 1));
  EXPECT_EQ(after, before) << "the restart recreated objects";

  // While it was down, red3 went away: the desired set no longer has it.
  ASSERT_OK(overlay(1).sync_peers("red", {peer(kRed, 2)}));
  EXPECT_TRUE(reaches(kRed, 1, kRed, 2));
  EXPECT_FALSE(reaches(kRed, 1, kRed, 3));
}

TEST_F(ThreeHosts, SweepLeavesOnlyTheSimulatedHosts) {
  for (int h = 1; h <= 3; ++h) {
    auto report = overlay(h).sweep({}, {});
    ASSERT_TRUE(report.ok()) << report.error().message();
    EXPECT_EQ(report->removed.size(), 4u) << "two sandboxes and two endpoints on host " << h;
  }
  std::vector<std::string> left = bed_->namespaces();
  std::sort(left.begin(), left.end());
  std::vector<std::string> hosts{bed_->host_ns(1), bed_->host_ns(2), bed_->host_ns(3),
                                 "shoal-" + bed_->run() + "-ul"};
  std::sort(hosts.begin(), hosts.end());
  EXPECT_EQ(left, hosts);
}

TEST(Jumbo, UnderlayMtu9000GivesOverlay8950AndDfPingsStopThere) {
  ASSERT_EQ(::geteuid(), 0u);
  auto bed = Testbed::create(2, 9000);
  ASSERT_TRUE(bed.ok()) << bed.error().message();
  std::vector<Host> hosts;
  for (int h = 1; h <= 2; ++h)
    hosts.push_back(open_host(**bed, h));
  const Net jumbo{"jumbo", 4300, 4};
  for (int h = 1; h <= 2; ++h) {
    Overlay& overlay = *hosts[h - 1].overlay;
    EXPECT_EQ(overlay.underlay_mtu(), 9000u) << "read from the host's uplink";
    ASSERT_OK(overlay.ensure(network_spec(jumbo)));
    EXPECT_EQ(overlay.mtu_of("jumbo"), 8950u);
    EndpointSpec e;
    e.network_id = "jumbo";
    e.id = endpoint_id(jumbo, h);
    e.ip = endpoint_ip(jumbo, h);
    ASSERT_OK(overlay.attach(e));
    const int other = 3 - h;
    ASSERT_OK(overlay.add_peer(PeerSpec{"jumbo", endpoint_ip(jumbo, other),
                                        Mac::from_ipv4(endpoint_ip(jumbo, other)),
                                        (*bed)->host_ip(other)}));
  }
  const std::string from = endpoint_netns((*bed)->node_tag(1), endpoint_id(jumbo, 1));
  const int largest = 8950 - 28;  // IPv4 20 + ICMP 8
  EXPECT_TRUE(testing::ping(from, endpoint_ip(jumbo, 2), {largest, true, 2}));
  EXPECT_FALSE(testing::ping(from, endpoint_ip(jumbo, 2), {largest + 1, true, 1}));
}

TEST(UnderIpNetnsExec, TheCliPinsNamespacesWhereIpNetnsSeesThem) {
  ASSERT_EQ(::geteuid(), 0u);
  auto bed = Testbed::create(1);
  ASSERT_TRUE(bed.ok()) << bed.error().message();
  const std::string tag = (*bed)->node_tag(1);
  const std::string state_file = "/tmp/shoal-" + tag + ".json";
  std::ofstream(state_file) << R"({"networks":[{"id":"cli","vni":4400,"subnet":"10.10.5.0/24",
      "gateway":"10.10.5.1","endpoints":[{"id":"e1","ip":"10.10.5.11"}]}]})";
  const std::vector<std::string> base{"ip",
                                      "netns",
                                      "exec",
                                      (*bed)->host_ns(1),
                                      testing::build_path("dataplane/shoal-dataplane"),
                                      "--tag",
                                      tag,
                                      "--underlay",
                                      (*bed)->host_ip(1).str()};
  auto argv = base;
  argv.insert(argv.end(), {"apply", "-f", state_file});
  auto applied = run_command(argv);
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->exit_code, 0) << applied->output;
  // The agent's mount namespace is gone; the pins must still be where `ip netns` looks.
  EXPECT_TRUE(named_netns_exists("shoal-" + tag + "-net-cli"));
  EXPECT_TRUE(named_netns_exists("shoal-" + tag + "-ep-e1"));
  EXPECT_TRUE(testing::ping("shoal-" + tag + "-ep-e1", *Ipv4::parse("10.10.5.1")));

  argv = base;
  argv.push_back("down");
  auto down = run_command(argv);
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->exit_code, 0) << down->output;
  EXPECT_FALSE(named_netns_exists("shoal-" + tag + "-net-cli"));
  EXPECT_FALSE(named_netns_exists("shoal-" + tag + "-ep-e1"));
  std::remove(state_file.c_str());
}

}  // namespace
}  // namespace shoal::dataplane
