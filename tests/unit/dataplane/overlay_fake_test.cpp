// The overlay's convergence logic against the in-memory kernel: what it creates, that a
// converged state changes nothing, how it repairs, refuses and rolls back.
#include <gtest/gtest.h>

#include "dataplane/overlay.h"
#include "tests/support/fake_kernel.h"

namespace shoal::dataplane {
namespace {

using testing::FakeKernel;

const Ipv4 kUnderlay = *Ipv4::parse("198.51.100.1");

NetworkSpec spec(const char* id, uint32_t vni, const char* subnet, const char* gateway) {
  return NetworkSpec{id, vni, *Ipv4Prefix::parse(subnet), *Ipv4::parse(gateway), std::nullopt};
}

EndpointSpec endpoint(const char* network, const char* id, const char* ip) {
  EndpointSpec e;
  e.network_id = network;
  e.id = id;
  e.ip = *Ipv4::parse(ip);
  return e;
}

PeerSpec peer(const char* network, const char* ip, const char* vtep) {
  Ipv4 addr = *Ipv4::parse(ip);
  return PeerSpec{network, addr, Mac::from_ipv4(addr), *Ipv4::parse(vtep)};
}

class OverlayFakeTest : public ::testing::Test {
 protected:
  OverlayFakeTest()
      : overlay_(*Overlay::create(NodeConfig{"n1", kUnderlay, std::nullopt}, kernel_)) {}

  const std::string sandbox_ = "shoal-n1-net-app";
  FakeKernel kernel_{1500, kUnderlay};
  Overlay overlay_;
  NetworkSpec app_ = spec("app", 4096, "10.0.1.0/24", "10.0.1.1");
};

TEST_F(OverlayFakeTest, EnsureBuildsTheSandbox) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  const auto* bridge = kernel_.find_link(sandbox_, "br0");
  const auto* vxlan = kernel_.find_link(sandbox_, "vxlan0");
  ASSERT_TRUE(bridge && vxlan);
  EXPECT_EQ(bridge->addresses, std::vector{*Ipv4Prefix::parse("10.0.1.1/24")});
  EXPECT_TRUE(bridge->info.up);
  EXPECT_EQ(vxlan->info.vxlan, (VxlanAttrs{4096, kUnderlay, 4789, false, true}));
  EXPECT_EQ(vxlan->info.master, bridge->info.ifindex);
  EXPECT_EQ(vxlan->info.mtu, 1450u);
  EXPECT_EQ(kernel_.ns(sandbox_).sysctls["net.ipv6.conf.all.disable_ipv6"], "1");
}

TEST_F(OverlayFakeTest, EnsureTwiceChangesNothing) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  const int before = kernel_.mutations();
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  EXPECT_EQ(kernel_.mutations(), before);
}

TEST_F(OverlayFakeTest, EnsureRepairsAMissingBridge) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  ASSERT_TRUE(kernel_.delete_link(sandbox_, "br0").ok());
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  const auto* bridge = kernel_.find_link(sandbox_, "br0");
  ASSERT_NE(bridge, nullptr);
  EXPECT_EQ(kernel_.find_link(sandbox_, "vxlan0")->info.master, bridge->info.ifindex);
}

TEST_F(OverlayFakeTest, EnsureReplacesAVxlanWithWrongAttributes) {
  ASSERT_TRUE(kernel_.netns_create(sandbox_).ok());
  VxlanConfig wrong{"vxlan0", VxlanAttrs{4096, kUnderlay, 4789, true, false}, 1450};
  ASSERT_TRUE(kernel_.create_vxlan(sandbox_, wrong).ok());
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  const auto* vxlan = kernel_.find_link(sandbox_, "vxlan0");
  ASSERT_NE(vxlan, nullptr);
  EXPECT_FALSE(vxlan->info.vxlan->learning);
  EXPECT_TRUE(vxlan->info.vxlan->proxy);
}

TEST_F(OverlayFakeTest, EnsureClearsAStaleVxlanHoldingTheVni) {
  // A killed agent left a device with this VNI in the node namespace.
  VxlanConfig stale{"vx-stale", VxlanAttrs{4096, kUnderlay, 4789, false, true}, 1450};
  ASSERT_TRUE(kernel_.create_vxlan("", stale).ok());
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  EXPECT_EQ(kernel_.find_link("", "vx-stale"), nullptr);
  EXPECT_NE(kernel_.find_link(sandbox_, "vxlan0"), nullptr);
}

TEST_F(OverlayFakeTest, RefusesConflictsWithoutTouchingTheKernel) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  const int before = kernel_.mutations();
  auto same_vni = overlay_.ensure(spec("db", 4096, "10.0.2.0/24", "10.0.2.1"));
  ASSERT_FALSE(same_vni.ok());
  EXPECT_NE(same_vni.error().message().find("VNI 4096 is used by network app"), std::string::npos);
  auto overlap = overlay_.ensure(spec("db", 4097, "10.0.0.0/16", "10.0.0.1"));
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.error().message().find("overlaps 10.0.1.0/24"), std::string::npos);
  auto changed = overlay_.ensure(spec("app", 4096, "10.0.1.0/24", "10.0.1.254"));
  EXPECT_FALSE(changed.ok());
  EXPECT_EQ(kernel_.mutations(), before);
  EXPECT_FALSE(kernel_.has_ns("shoal-n1-net-db"));
}

TEST_F(OverlayFakeTest, AttachBuildsTheEndpointAndIsIdempotent) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  auto made = overlay_.attach(endpoint("app", "t1", "10.0.1.5"));
  ASSERT_TRUE(made.ok()) << made.error().message();
  EXPECT_EQ(made->netns, "shoal-n1-ep-t1");
  EXPECT_EQ(made->mac.str(), "02:42:0a:00:01:05");
  const auto* inner = kernel_.find_link("shoal-n1-ep-t1", "eth0");
  const auto* outer = kernel_.find_link(sandbox_, sandbox_veth("t1"));
  ASSERT_TRUE(inner && outer);
  EXPECT_EQ(inner->addresses, std::vector{*Ipv4Prefix::parse("10.0.1.5/24")});
  EXPECT_EQ(inner->default_route, *Ipv4::parse("10.0.1.1"));
  EXPECT_EQ(inner->info.mtu, 1450u);
  EXPECT_EQ(outer->info.master, kernel_.find_link(sandbox_, "br0")->info.ifindex);

  const int before = kernel_.mutations();
  ASSERT_TRUE(overlay_.attach(endpoint("app", "t1", "10.0.1.5")).ok());
  EXPECT_EQ(kernel_.mutations(), before);
}

TEST_F(OverlayFakeTest, FailedAttachLeavesNothingBehind) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  kernel_.fail_next("add_address", EPERM);
  auto made = overlay_.attach(endpoint("app", "t1", "10.0.1.5"));
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message().find("Operation not permitted"), std::string::npos);
  EXPECT_FALSE(kernel_.has_ns("shoal-n1-ep-t1"));
  EXPECT_EQ(kernel_.find_link(sandbox_, sandbox_veth("t1")), nullptr);
}

TEST_F(OverlayFakeTest, AttachRefusesBadInputAndUnknownNetworks) {
  auto unknown = overlay_.attach(endpoint("app", "t1", "10.0.1.5"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("not set up on this node"), std::string::npos);
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  EXPECT_FALSE(overlay_.attach(endpoint("app", "t1", "10.0.9.5")).ok());
  EndpointSpec elsewhere = endpoint("app", "t1", "10.0.1.5");
  elsewhere.netns = "no-such-netns";
  EXPECT_FALSE(overlay_.attach(elsewhere).ok());
  EXPECT_FALSE(kernel_.has_ns("shoal-n1-ep-t1"));
}

TEST_F(OverlayFakeTest, DetachRemovesExactlyWhatAttachMade) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  ASSERT_TRUE(kernel_.netns_create("task-ns").ok());
  EndpointSpec given = endpoint("app", "t2", "10.0.1.6");
  given.netns = "task-ns";
  ASSERT_TRUE(overlay_.attach(endpoint("app", "t1", "10.0.1.5")).ok());
  ASSERT_TRUE(overlay_.attach(given).ok());

  ASSERT_TRUE(overlay_.detach("app", "t1").ok());
  EXPECT_FALSE(kernel_.has_ns("shoal-n1-ep-t1"));
  ASSERT_TRUE(overlay_.detach("app", "t2").ok());
  EXPECT_TRUE(kernel_.has_ns("task-ns")) << "a namespace attach did not create stays";
  EXPECT_EQ(kernel_.find_link("task-ns", "eth0"), nullptr);
  EXPECT_NE(kernel_.find_link(sandbox_, "br0"), nullptr);
}

TEST_F(OverlayFakeTest, PeersAreReferenceCountedInTheKernel) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  PeerSpec p = peer("app", "10.0.1.9", "198.51.100.2");
  ASSERT_TRUE(overlay_.add_peer(p).ok());
  ASSERT_TRUE(overlay_.add_peer(p).ok());
  auto& ns = kernel_.ns(sandbox_);
  EXPECT_EQ((ns.neighbours[{"vxlan0", p.ip}]), p.mac);
  EXPECT_EQ((ns.fdb[{"vxlan0", p.mac}]), p.vtep);
  ASSERT_TRUE(overlay_.remove_peer(p).ok());
  EXPECT_EQ(ns.fdb.size(), 1u);
  ASSERT_TRUE(overlay_.remove_peer(p).ok());
  EXPECT_TRUE(ns.fdb.empty());
  EXPECT_TRUE(ns.neighbours.empty());
}

TEST_F(OverlayFakeTest, LocalPeersNeedNoEntries) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  ASSERT_TRUE(overlay_.add_peer(peer("app", "10.0.1.9", "198.51.100.1")).ok());
  EXPECT_TRUE(kernel_.ns(sandbox_).fdb.empty());
}

TEST_F(OverlayFakeTest, FailedPeerWriteKeepsTheBooksEqualToTheKernel) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  PeerSpec p = peer("app", "10.0.1.9", "198.51.100.2");
  kernel_.fail_next("set_fdb", ENOBUFS);
  EXPECT_FALSE(overlay_.add_peer(p).ok());
  EXPECT_TRUE(kernel_.ns(sandbox_).neighbours.empty()) << "the half-written peer was undone";
  ASSERT_TRUE(overlay_.add_peer(p).ok());
  EXPECT_EQ((kernel_.ns(sandbox_).fdb[{"vxlan0", p.mac}]), p.vtep);
  ASSERT_TRUE(overlay_.remove_peer(p).ok());
  EXPECT_TRUE(kernel_.ns(sandbox_).fdb.empty()) << "one remove undoes the one successful add";
}

TEST_F(OverlayFakeTest, SyncPeersRemovesWhatARestartLeftAndAddsWhatIsMissing) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  PeerSpec gone = peer("app", "10.0.1.8", "198.51.100.2");
  PeerSpec kept = peer("app", "10.0.1.9", "198.51.100.3");
  PeerSpec fresh = peer("app", "10.0.1.10", "198.51.100.4");
  ASSERT_TRUE(kernel_.set_neighbour(sandbox_, "vxlan0", gone.ip, gone.mac).ok());
  ASSERT_TRUE(kernel_.set_fdb(sandbox_, "vxlan0", gone.mac, gone.vtep).ok());
  ASSERT_TRUE(kernel_.set_neighbour(sandbox_, "vxlan0", kept.ip, kept.mac).ok());
  ASSERT_TRUE(kernel_.set_fdb(sandbox_, "vxlan0", kept.mac, kept.vtep).ok());

  ASSERT_TRUE(overlay_.sync_peers("app", {kept, fresh}).ok());
  auto& ns = kernel_.ns(sandbox_);
  EXPECT_EQ(ns.neighbours.size(), 2u);
  EXPECT_FALSE(ns.neighbours.contains({"vxlan0", gone.ip}));
  EXPECT_EQ((ns.fdb[{"vxlan0", fresh.mac}]), fresh.vtep);

  const int before = kernel_.mutations();
  ASSERT_TRUE(overlay_.sync_peers("app", {kept, fresh}).ok());
  EXPECT_EQ(kernel_.mutations(), before);
  // After a sync each peer holds one reference: one remove deletes it.
  ASSERT_TRUE(overlay_.remove_peer(kept).ok());
  EXPECT_FALSE(ns.fdb.contains({"vxlan0", kept.mac}));
}

TEST_F(OverlayFakeTest, SweepRemovesOnlyWhatIsNotDesired) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  ASSERT_TRUE(overlay_.ensure(spec("old", 5000, "10.0.9.0/24", "10.0.9.1")).ok());
  ASSERT_TRUE(overlay_.attach(endpoint("app", "keep", "10.0.1.5")).ok());
  ASSERT_TRUE(overlay_.attach(endpoint("app", "drop", "10.0.1.6")).ok());
  ASSERT_TRUE(kernel_.netns_create("shoal-n2-net-app").ok());  // another node's

  auto report = overlay_.sweep({"app"}, {"keep"});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->removed, (std::vector<std::string>{"shoal-n1-ep-drop", "shoal-n1-net-old"}));
  EXPECT_TRUE(kernel_.has_ns("shoal-n1-net-app"));
  EXPECT_TRUE(kernel_.has_ns("shoal-n1-ep-keep"));
  EXPECT_TRUE(kernel_.has_ns("shoal-n2-net-app"));
}

TEST_F(OverlayFakeTest, TheIngressGatewayCanLiveOnTheNodesOwnEndpoint) {
  NetworkSpec ingress = spec("ingress", 4095, "10.0.0.0/24", "10.0.0.1");
  ingress.gateway_on_bridge = false;
  ASSERT_TRUE(overlay_.ensure(ingress).ok());
  EXPECT_TRUE(kernel_.find_link("shoal-n1-net-ingress", "br0")->addresses.empty());
  ASSERT_TRUE(kernel_.netns_create("node-ns").ok());
  EndpointSpec own = endpoint("ingress", "node", "10.0.0.101");
  own.netns = "node-ns";
  own.ifname = "ingress0";
  own.default_route = false;
  own.holds_gateway = true;
  ASSERT_TRUE(overlay_.attach(own).ok());
  const auto* link = kernel_.find_link("node-ns", "ingress0");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->addresses,
            (std::vector{*Ipv4Prefix::parse("10.0.0.101/24"), *Ipv4Prefix::parse("10.0.0.1/24")}));
  EXPECT_FALSE(link->default_route.has_value());
  const int before = kernel_.mutations();
  ASSERT_TRUE(overlay_.attach(own).ok());
  EXPECT_EQ(kernel_.mutations(), before);
}

TEST_F(OverlayFakeTest, RemoveIsIdempotent) {
  ASSERT_TRUE(overlay_.ensure(app_).ok());
  ASSERT_TRUE(overlay_.remove("app").ok());
  EXPECT_FALSE(kernel_.has_ns(sandbox_));
  EXPECT_TRUE(overlay_.remove("app").ok());
}

}  // namespace
}  // namespace shoal::dataplane
