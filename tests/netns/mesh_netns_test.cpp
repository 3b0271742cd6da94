// The routing mesh on the real kernel: hosts 1-3 form the cluster (an ingress overlay, a
// backend on hosts 1 and 2, the mesh programs on every host); host 4 is a client outside it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <map>
#include <sstream>

#include "dataplane/libnl_kernel.h"
#include "dataplane/overlay.h"
#include "ebpf/ebpf_lb.h"
#include "ebpf/ingress_program.h"
#include "ebpf/lb_program.h"
#include "tests/support/assertions.h"
#include "tests/support/private_mounts.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::ebpf {
namespace {

using testing::tally;

using dataplane::EndpointSpec;
using dataplane::Netns;
using dataplane::PeerSpec;
using testing::NamedServer;
using testing::Testbed;

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

using testing::ip;
Ipv4 node_ingress_ip(int h) {
  return Ipv4(ip("10.0.0.100").host_order() + static_cast<uint32_t>(h));
}

struct Backend {
  const char* id;
  int host;
  const char* address;
};
const Backend kBackends[] = {{"b1", 1, "10.0.0.11"}, {"b2", 2, "10.0.0.12"}};
constexpr int kClusterHosts = 3;
constexpr int kClient = 4;

// One cluster host's agent: its overlay and its load balancer with the mesh attached.
struct Agent {
  std::unique_ptr<dataplane::LibnlKernel> kernel;
  std::unique_ptr<dataplane::Overlay> overlay;
  std::unique_ptr<LbProgram> lb;
  std::unique_ptr<IngressProgram> ingress;
  std::unique_ptr<BpfLbMapIo> maps;
  std::unique_ptr<EbpfLoadBalancer> balancer;
};

class RoutingMesh : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    auto bed = Testbed::create(4);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    dataplane::NetworkSpec ingress{"ingress", 4096, *Ipv4Prefix::parse("10.0.0.0/24"),
                                   ip("10.0.0.1"), std::nullopt};
    ingress.gateway_on_bridge = false;  // each node holds it: tasks' replies come to the node
    agents_.resize(kClusterHosts);
    for (int h = 1; h <= kClusterHosts; ++h) {
      Agent& a = agent(h);
      auto node = Netns::open_named(bed_->host_ns(h));
      ASSERT_TRUE(node.ok());
      auto kernel = dataplane::LibnlKernel::create(std::move(*node));
      ASSERT_TRUE(kernel.ok());
      a.kernel = std::move(*kernel);
      auto overlay = dataplane::Overlay::create({bed_->node_tag(h), bed_->host_ip(h), std::nullopt},
                                                *a.kernel);
      ASSERT_TRUE(overlay.ok());
      a.overlay = std::make_unique<dataplane::Overlay>(std::move(*overlay));
      ASSERT_OK(a.overlay->ensure(ingress));
      // The node's own interface on the ingress overlay, in the node's namespace.
      EndpointSpec own;
      own.network_id = "ingress";
      own.id = "node";
      own.netns = bed_->host_ns(h);
      own.ifname = "ingress0";
      own.ip = node_ingress_ip(h);
      own.default_route = false;
      own.holds_gateway = true;
      ASSERT_OK(a.overlay->attach(own));
    }
    for (const Backend& b : kBackends) {
      EndpointSpec task;
      task.network_id = "ingress";
      task.id = b.id;
      task.ip = ip(b.address);
      ASSERT_OK(agent(b.host).overlay->attach(task));
      auto server = NamedServer::start(dataplane::endpoint_netns(bed_->node_tag(b.host), b.id),
                                       ip(b.address), 80, b.id);
      ASSERT_TRUE(server.ok()) << server.error().message();
      servers_[b.id] = std::move(*server);
    }
    for (int h = 1; h <= kClusterHosts; ++h) {
      for (int other = 1; other <= kClusterHosts; ++other) {
        ASSERT_OK(agent(h).overlay->add_peer(peer(node_ingress_ip(other), other)));
      }
      for (const Backend& b : kBackends) {
        ASSERT_OK(agent(h).overlay->add_peer(peer(ip(b.address), b.host)));
      }
      start_load_balancer(h);
      ASSERT_OK(agent(h).balancer->upsert(web({"b1", "b2"})));
    }
  }

  void TearDown() override {
    for (int h = 1; h <= static_cast<int>(agents_.size()); ++h) {
      Agent& a = agent(h);
      if (!a.ingress)
        continue;
      auto node = Netns::open_named(bed_->host_ns(h));
      ASSERT_TRUE(node.ok());
      EXPECT_TRUE(a.ingress->detach(*node).ok());
      EXPECT_TRUE(a.ingress->unpin().ok());
      EXPECT_TRUE(a.lb->uninstall().ok());
      auto filters = testing::run_in_ns(
          bed_->host_ns(h), {"tc", "filter", "show", "dev", bed_->host_uplink(h), "ingress"});
      ASSERT_TRUE(filters.ok());
      EXPECT_EQ(filters->output.find("bpf"), std::string::npos) << "a tc filter stayed behind";
    }
    agents_.clear();
    servers_.clear();
    bed_.reset();
  }

  Agent& agent(int h) { return agents_.at(h - 1); }

  PeerSpec peer(Ipv4 address, int host) const {
    return PeerSpec{"ingress", address, Mac::from_ipv4(address), bed_->host_ip(host)};
  }

  static lb::Service web(const std::vector<std::string>& backends) {
    lb::Service s;
    s.id = "web";
    s.published = {lb::PublishedPort{8080, lb::Protocol::kTcp, 80}};
    for (const Backend& b : kBackends) {
      if (std::find(backends.begin(), backends.end(), b.id) != backends.end()) {
        s.ingress_backends.push_back({ip(b.address)});
      }
    }
    return s;
  }

  // (Re)starts host h's load balancer: what an agent does at start-up.
  void start_load_balancer(int h) {
    Agent& a = agent(h);
    a.balancer.reset();
    a.maps.reset();
    a.ingress.reset();
    a.lb.reset();
    LbProgramConfig config;
    config.node = bed_->node_tag(h);
    auto lb = LbProgram::load(config);
    ASSERT_TRUE(lb.ok()) << lb.error().message();
    a.lb = std::move(*lb);
    IngressConfig mesh;
    mesh.pin_dir = a.lb->pin_dir();
    mesh.max_slots = config.max_slots;
    mesh.node_ip = bed_->host_ip(h);
    mesh.ingress_ip = node_ingress_ip(h);
    auto ingress = IngressProgram::load(mesh);
    ASSERT_TRUE(ingress.ok()) << ingress.error().message();
    a.ingress = std::move(*ingress);
    auto node = Netns::open_named(bed_->host_ns(h));
    ASSERT_TRUE(node.ok());
    ASSERT_OK(a.ingress->attach(*node));
    a.maps =
        std::make_unique<BpfLbMapIo>(a.lb->services_fd(), a.lb->slots_fd(), a.ingress->ports_fd());
    auto balancer = EbpfLoadBalancer::create(*a.maps);
    ASSERT_TRUE(balancer.ok());
    a.balancer = std::move(*balancer);
  }

  // From the outside client: connections to host h's underlay address on the published port.
  std::vector<std::string> request(int h, const std::string& mode, int n) {
    auto result = testing::run_in_ns(bed_->host_ns(kClient),
                                     {testing::build_path("tests/support/shoal-lb-probe"), mode,
                                      bed_->host_ip(h).str(), "8080", std::to_string(n)},
                                     60000);
    EXPECT_TRUE(result.ok());
    return testing::output_lines(result);
  }

  std::unique_ptr<Testbed> bed_;
  std::vector<Agent> agents_;
  std::map<std::string, std::unique_ptr<NamedServer>> servers_;
};

TEST_F(RoutingMesh, ThePublishedPortAnswersOnEveryHostIncludingOneWithoutABackend) {
  for (int h = 1; h <= kClusterHosts; ++h) {
    auto counts = tally(request(h, "tcp", 30));
    EXPECT_EQ(counts["b1"] + counts["b2"], 30)
        << "host " << h << ": " << ::testing::PrintToString(counts);
    EXPECT_GT(counts["b1"], 0) << "host " << h;
    EXPECT_GT(counts["b2"], 0) << "host " << h;
  }
}

TEST_F(RoutingMesh, ModeHostAnswersOnlyWhereATaskRuns) {
  // The agent passes each node only its own tasks.
  ASSERT_OK(agent(1).balancer->upsert(web({"b1"})));
  ASSERT_OK(agent(2).balancer->upsert(web({"b2"})));
  ASSERT_OK(agent(3).balancer->upsert(web({})));
  EXPECT_EQ(tally(request(1, "tcp", 10))["b1"], 10);
  EXPECT_EQ(tally(request(2, "tcp", 10))["b2"], 10);
  EXPECT_EQ(request(3, "tcp", 1), std::vector<std::string>{"error: Connection refused"});
}

TEST_F(RoutingMesh, SourcePreservingPortsShowTheClientAddressToTheBackend) {
  lb::Service local = web({"b1"});  // host 1's own task only
  local.published[0].preserve_source = true;
  ASSERT_OK(agent(1).balancer->upsert(local));
  EXPECT_EQ(tally(request(1, "tcp", 10))["b1"], 10);
  EXPECT_EQ(servers_.at("b1")->last_peer(), bed_->host_ip(kClient)) << "the client was hidden";

  // The mesh proper (SNAT) still hides it: that is what lets any node serve any port.
  EXPECT_GT(tally(request(3, "tcp", 20))["b1"], 0);
  EXPECT_EQ(servers_.at("b1")->last_peer(), node_ingress_ip(3));
}

TEST_F(RoutingMesh, AnAgentRestartKeepsEstablishedFlows) {
  auto held = std::async(std::launch::async, [&] { return request(3, "hold", 3); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  start_load_balancer(3);  // the pins, the conntrack and the tc filters carry over
  ASSERT_OK(agent(3).balancer->upsert(web({"b1", "b2"})));
  ASSERT_OK(agent(3).balancer->prune());
  auto lines = held.get();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0] == "b1" || lines[0] == "b2") << lines[0];
  EXPECT_EQ(lines[1], "ping") << "the flow held across the restart broke";
  auto counts = tally(request(3, "tcp", 10));
  EXPECT_EQ(counts["b1"] + counts["b2"], 10) << ::testing::PrintToString(counts);
}

}  // namespace
}  // namespace shoal::ebpf
