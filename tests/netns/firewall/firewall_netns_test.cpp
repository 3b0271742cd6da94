// The node firewall on the real kernel, written as the attacks of the security review (#7, #8):
//  - OverlaySources: an outside host forges a VXLAN datagram into a task's network, claiming
//    another task's address. Before the filter it arrives; after, only members' datagrams do.
//  - TaskLinks: a task behind the ingress bridge connects to the node's control ports (2377,
//    2379, 7946) through ingress0. After the filter it cannot, while the published port still
//    answers outside clients through the routing mesh.
// Each test first shows that the attack works without the filter, so it cannot pass vacuously.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "dataplane/firewall/node_firewall.h"
#include "dataplane/libnl_kernel.h"
#include "dataplane/overlay.h"
#include "ebpf/ebpf_lb.h"
#include "ebpf/ingress_program.h"
#include "ebpf/lb_program.h"
#include "tests/support/assertions.h"
#include "tests/support/packet.h"
#include "tests/support/private_mounts.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::dataplane::firewall {
namespace {

using ::testing::HasSubstr;
using testing::ip;
using ::testing::Not;
using testing::Testbed;

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

constexpr int kQuietMs = 700;  // how long "nothing arrives" is waited for

using testing::send_udp;
using testing::udp_listener;

// The payload of the next datagram on fd and who sent it, or nothing within timeout_ms.
struct Received {
  std::string payload;
  Ipv4 from;
};
std::optional<Received> receive(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1)
    return std::nullopt;
  char buf[2048];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0)
    return std::nullopt;
  return Received{std::string(buf, static_cast<size_t>(n)), Ipv4(ntohl(from.sin_addr.s_addr))};
}

Result<std::unique_ptr<NodeFirewall>> install_in(const std::string& ns) {
  SHOAL_ASSIGN_OR_RETURN(Netns node, Netns::open_named(ns));
  SHOAL_ASSIGN_OR_RETURN(auto runner, LibnftablesRunner::open(std::move(node)));
  return NodeFirewall::install(std::move(runner));
}

std::string nft_tables(const std::string& ns) {
  auto listed = testing::run_in_ns(ns, {"nft", "list", "tables"});
  return listed.ok() ? listed->output : "";
}

// One host's overlay agent.
struct Node {
  std::unique_ptr<LibnlKernel> kernel;
  std::unique_ptr<Overlay> overlay;
};

Node make_node(const Testbed& bed, int host) {
  Node node;
  auto ns = Netns::open_named(bed.host_ns(host));
  EXPECT_TRUE(ns.ok());
  auto kernel = LibnlKernel::create(std::move(*ns));
  EXPECT_TRUE(kernel.ok());
  node.kernel = std::move(*kernel);
  auto overlay =
      Overlay::create({bed.node_tag(host), bed.host_ip(host), std::nullopt}, *node.kernel);
  EXPECT_TRUE(overlay.ok());
  node.overlay = std::make_unique<Overlay>(std::move(*overlay));
  return node;
}

// ---- VXLAN only from the swarm's nodes (#7) ----

// Hosts 1 and 2 are the swarm (task t1 on host 1, task t2 on host 2, one overlay); host 3 is
// outside it, with no overlay at all.
class OverlaySources : public ::testing::Test {
 protected:
  static constexpr uint32_t kVni = 4200;
  static constexpr uint16_t kTaskPort = 9999;

  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    auto bed = Testbed::create(3);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    NetworkSpec app{"app", kVni, *Ipv4Prefix::parse("10.0.9.0/24"), ip("10.0.9.1"), std::nullopt};
    for (int h : {1, 2}) {
      nodes_.push_back(make_node(*bed_, h));
      ASSERT_OK(nodes_.back().overlay->ensure(app));
    }
    for (auto [host, id, addr] : {std::tuple{1, "t1", kT1}, std::tuple{2, "t2", kT2}}) {
      EndpointSpec task;
      task.network_id = "app";
      task.id = id;
      task.ip = addr;
      ASSERT_OK(nodes_[host - 1].overlay->attach(task));
      for (auto& node : nodes_) {
        if (&node != &nodes_[host - 1])
          ASSERT_OK(
              node.overlay->add_peer({"app", addr, Mac::from_ipv4(addr), bed_->host_ip(host)}));
      }
    }
    listener_ = udp_listener(endpoint_netns(bed_->node_tag(1), "t1"), kT1, kTaskPort);
  }

  // Sends the forged datagram from host `from` to host 1's VXLAN port; whether t1 got it.
  bool reaches_task(int from) {
    send_udp(bed_->host_ns(from), bed_->host_ip(1), kVxlanPort,
             testing::forged_vxlan_datagram(kVni, kT2, kT1, kTaskPort));
    auto got = receive(listener_.get(), kQuietMs);
    if (got) {
      EXPECT_EQ(got->from, kT2) << "the inner source is what the datagram claimed";
      EXPECT_EQ(got->payload, "shoal");
    }
    return got.has_value();
  }

  const Ipv4 kT1 = ip("10.0.9.2");
  const Ipv4 kT2 = ip("10.0.9.3");
  std::unique_ptr<Testbed> bed_;
  std::vector<Node> nodes_;
  UniqueFd listener_;
};

TEST_F(OverlaySources, AForgedDatagramFromANonMemberIsDroppedWhileAMembersPasses) {
  ASSERT_TRUE(reaches_task(3)) << "without the filter the outsider's datagram must arrive";

  auto firewall = install_in(bed_->host_ns(1));
  ASSERT_TRUE(firewall.ok()) << firewall.error().message();
  ASSERT_OK((*firewall)->set_overlay_sources({bed_->host_ip(2)}));

  EXPECT_FALSE(reaches_task(3)) << "a non-member's VXLAN datagram reached a task";
  EXPECT_TRUE(reaches_task(2)) << "a member's VXLAN datagram was dropped";
  // And the overlay between the members works both ways.
  EXPECT_TRUE(testing::ping(endpoint_netns(bed_->node_tag(2), "t2"), kT1));
}

TEST_F(OverlaySources, ARestartKeepsTheMembersAndLeaveRemovesOnlyItsTable) {
  // Someone else's table in the node's namespace: never touched.
  auto other = testing::run_in_ns(bed_->host_ns(1),
                                  {"nft",
                                   "add table inet site; add chain inet site input { type filter "
                                   "hook input priority 0; policy accept; }; add rule inet site "
                                   "input tcp dport 22 accept"});
  ASSERT_TRUE(other.ok() && other->exit_code == 0) << (other.ok() ? other->output : "");
  {
    auto first = install_in(bed_->host_ns(1));
    ASSERT_TRUE(first.ok()) << first.error().message();
    ASSERT_OK((*first)->set_overlay_sources({bed_->host_ip(2)}));
  }  // the agent stops: its table stays
  auto restarted = install_in(bed_->host_ns(1));
  ASSERT_TRUE(restarted.ok()) << restarted.error().message();
  // Before any assignment reaches the new run, members still pass and outsiders do not.
  EXPECT_TRUE(reaches_task(2));
  EXPECT_FALSE(reaches_task(3));

  ASSERT_OK((*restarted)->remove());  // swarm leave
  const std::string tables = nft_tables(bed_->host_ns(1));
  EXPECT_THAT(tables, Not(HasSubstr("shoal-firewall")));
  EXPECT_THAT(tables, HasSubstr("table inet site"));
  auto rules = testing::run_in_ns(bed_->host_ns(1), {"nft", "list", "table", "inet", "site"});
  ASSERT_TRUE(rules.ok());
  EXPECT_THAT(rules->output, HasSubstr("tcp dport 22 accept"));
  ASSERT_OK((*restarted)->remove());  // a second leave is no error
}

// ---- tasks do not reach the node's own sockets (#8) ----

// Host 1 is a node with the routing mesh: the ingress overlay, its own ingress0 (holding the
// gateway, as the agent makes it), task b1 behind the ingress bridge with port 80 published as
// 8080, and the node's control ports listening on every address. Host 2 is an outside client.
class TaskLinks : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    auto bed = Testbed::create(2);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    node_ = make_node(*bed_, 1);
    NetworkSpec ingress{"ingress", 4096, *Ipv4Prefix::parse("10.0.0.0/24"), kGateway, std::nullopt};
    ingress.gateway_on_bridge = false;
    ASSERT_OK(node_.overlay->ensure(ingress));
    EndpointSpec own;
    own.network_id = "ingress";
    own.id = "node";
    own.netns = bed_->host_ns(1);
    own.ifname = "ingress0";
    own.ip = kNodeIngress;
    own.default_route = false;
    own.holds_gateway = true;
    ASSERT_OK(node_.overlay->attach(own));
    EndpointSpec task;
    task.network_id = "ingress";
    task.id = "b1";
    task.ip = kTask;
    ASSERT_OK(node_.overlay->attach(task));
    auto server = testing::NamedServer::start(task_ns(), kTask, 80, "b1");
    ASSERT_TRUE(server.ok()) << server.error().message();
    task_server_ = std::move(*server);
    start_mesh();
    for (uint16_t port : kControlPorts) {
      auto listener = testing::TcpEchoServer::start(bed_->host_ns(1), Ipv4(), port);
      ASSERT_TRUE(listener.ok()) << listener.error().message();
      control_.push_back(std::move(*listener));
    }
  }

  void start_mesh() {
    ebpf::LbProgramConfig config;
    config.node = bed_->node_tag(1);
    auto lb = ebpf::LbProgram::load(config);
    ASSERT_TRUE(lb.ok()) << lb.error().message();
    lb_ = std::move(*lb);
    ebpf::IngressConfig mesh;
    mesh.pin_dir = lb_->pin_dir();
    mesh.max_slots = config.max_slots;
    mesh.node_ip = bed_->host_ip(1);
    mesh.ingress_ip = kNodeIngress;
    auto program = ebpf::IngressProgram::load(mesh);
    ASSERT_TRUE(program.ok()) << program.error().message();
    ingress_ = std::move(*program);
    auto node = Netns::open_named(bed_->host_ns(1));
    ASSERT_TRUE(node.ok());
    ASSERT_OK(ingress_->attach(*node));
    maps_ = std::make_unique<ebpf::BpfLbMapIo>(lb_->services_fd(), lb_->slots_fd(),
                                               ingress_->ports_fd());
    auto balancer = ebpf::EbpfLoadBalancer::create(*maps_);
    ASSERT_TRUE(balancer.ok());
    balancer_ = std::move(*balancer);
    lb::Service web;
    web.id = "web";
    web.published = {lb::PublishedPort{8080, lb::Protocol::kTcp, 80}};
    web.ingress_backends = {{kTask}};
    ASSERT_OK(balancer_->upsert(web));
  }

  void TearDown() override {
    balancer_.reset();
    maps_.reset();
    if (ingress_) {
      auto node = Netns::open_named(bed_->host_ns(1));
      if (node.ok()) {
        EXPECT_TRUE(ingress_->detach(*node).ok());
      }
      EXPECT_TRUE(ingress_->unpin().ok());
    }
    if (lb_) {
      EXPECT_TRUE(lb_->uninstall().ok());
    }
    control_.clear();
    task_server_.reset();
    bed_.reset();
  }

  std::string task_ns() const { return endpoint_netns(bed_->node_tag(1), "b1"); }
  // The node's addresses a task can aim at: the underlay, its ingress address, the gateway.
  std::vector<Ipv4> node_addresses() const { return {bed_->host_ip(1), kNodeIngress, kGateway}; }

  bool task_connects(Ipv4 addr, uint16_t port) {
    auto reply = testing::tcp_exchange(task_ns(), addr, port, "hello", kQuietMs);
    return reply.ok() && *reply == "hello";
  }

  // A UDP datagram from the task to the node's gossip port (as a rogue member would send).
  bool task_datagram_arrives() {
    UniqueFd gossip = udp_listener(bed_->host_ns(1), Ipv4(), 7946);
    send_udp(task_ns(), kGateway, 7946, {'p', 'i', 'n', 'g'});
    return receive(gossip.get(), kQuietMs).has_value();
  }

  bool published_port_answers() {
    auto reply = testing::tcp_exchange(bed_->host_ns(2), bed_->host_ip(1), 8080, "x");
    return reply.ok() && reply->starts_with("b1\n");
  }

  const Ipv4 kGateway = ip("10.0.0.1");
  const Ipv4 kNodeIngress = ip("10.0.0.101");
  const Ipv4 kTask = ip("10.0.0.11");
  const std::vector<uint16_t> kControlPorts = {2377, 2379, 7946};
  std::unique_ptr<Testbed> bed_;
  Node node_;
  std::unique_ptr<testing::NamedServer> task_server_;
  std::vector<std::unique_ptr<testing::TcpEchoServer>> control_;
  std::unique_ptr<ebpf::LbProgram> lb_;
  std::unique_ptr<ebpf::IngressProgram> ingress_;
  std::unique_ptr<ebpf::BpfLbMapIo> maps_;
  std::unique_ptr<ebpf::EbpfLoadBalancer> balancer_;
};

TEST_F(TaskLinks, ATaskBehindTheIngressBridgeCannotReachTheNodesControlPorts) {
  // The attack works without the filter (repro D of the review).
  ASSERT_TRUE(task_connects(bed_->host_ip(1), 2377)) << "the test's task cannot reach the node";
  ASSERT_TRUE(task_datagram_arrives());
  ASSERT_TRUE(published_port_answers());

  auto firewall = install_in(bed_->host_ns(1));
  ASSERT_TRUE(firewall.ok()) << firewall.error().message();

  for (Ipv4 addr : node_addresses()) {
    for (uint16_t port : kControlPorts) {
      EXPECT_FALSE(task_connects(addr, port)) << "a task reached " << addr.str() << ":" << port;
    }
  }
  EXPECT_FALSE(task_datagram_arrives()) << "a task's datagram reached the gossip port";
  // What must keep working: the mesh for outside clients, the control ports for other hosts
  // (the uplink is not a task link), and connections the node itself opens to a task.
  EXPECT_TRUE(published_port_answers()) << "the published port stopped answering";
  auto from_outside = testing::tcp_exchange(bed_->host_ns(2), bed_->host_ip(1), 2377, "hi");
  ASSERT_TRUE(from_outside.ok()) << from_outside.error().message();
  EXPECT_EQ(*from_outside, "hi");
  auto to_task = testing::tcp_exchange(bed_->host_ns(1), kTask, 80, "x");
  ASSERT_TRUE(to_task.ok()) << to_task.error().message();
  EXPECT_TRUE(to_task->starts_with("b1\n")) << *to_task;
}

}  // namespace
}  // namespace shoal::dataplane::firewall
