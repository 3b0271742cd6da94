#include "dataplane/overlay_spec.h"

#include <gtest/gtest.h>

namespace shoal::dataplane {
namespace {

NetworkSpec good_spec() {
  return NetworkSpec{"app", 4096, *Ipv4Prefix::parse("10.0.1.0/24"), *Ipv4::parse("10.0.1.1"),
                     std::nullopt};
}

std::string why(const Status& status) {
  return status.ok() ? "" : status.error().message();
}

TEST(NetworkSpec, AcceptsAGoodSpec) {
  EXPECT_TRUE(validate_network(good_spec(), 1500).ok());
}

TEST(NetworkSpec, VniBounds) {
  NetworkSpec spec = good_spec();
  spec.vni = 0;
  EXPECT_NE(why(validate_network(spec, 1500)).find("VNI 0 is outside 1..16777215"),
            std::string::npos);
  spec.vni = kMaxVni + 1;
  EXPECT_FALSE(validate_network(spec, 1500).ok());
  spec.vni = kMaxVni;
  EXPECT_TRUE(validate_network(spec, 1500).ok());
}

TEST(NetworkSpec, GatewayMustBeAHostOfTheSubnet) {
  NetworkSpec spec = good_spec();
  spec.gateway = *Ipv4::parse("10.0.2.1");
  EXPECT_NE(why(validate_network(spec, 1500)).find("gateway 10.0.2.1"), std::string::npos);
  spec.gateway = *Ipv4::parse("10.0.1.0");
  EXPECT_FALSE(validate_network(spec, 1500).ok());
  spec.gateway = *Ipv4::parse("10.0.1.255");
  EXPECT_FALSE(validate_network(spec, 1500).ok());
}

TEST(NetworkSpec, SubnetWithHostBitsNamesTheFix) {
  NetworkSpec spec = good_spec();
  spec.subnet = *Ipv4Prefix::parse("10.0.1.5/24");
  EXPECT_NE(why(validate_network(spec, 1500)).find("use 10.0.1.0/24"), std::string::npos);
}

TEST(NetworkSpec, MtuFollowsTheUnderlay) {
  NetworkSpec spec = good_spec();
  EXPECT_EQ(overlay_mtu(spec, 1500), 1450u);
  EXPECT_EQ(overlay_mtu(spec, 9000), 8950u);
  spec.mtu = 1451;
  EXPECT_NE(why(validate_network(spec, 1500)).find("MTU 1451 must be from 576 to 1450"),
            std::string::npos);
  spec.mtu = 1400;
  EXPECT_TRUE(validate_network(spec, 1500).ok());
  spec.mtu = 500;
  EXPECT_FALSE(validate_network(spec, 1500).ok());
  spec.mtu.reset();
  EXPECT_FALSE(validate_network(spec, 600).ok()) << "an underlay of 600 leaves 550 < 576";
}

TEST(NetworkSpec, IdCharacters) {
  EXPECT_TRUE(validate_id("network", "my-net_1.a").ok());
  EXPECT_FALSE(validate_id("network", "").ok());
  EXPECT_FALSE(validate_id("network", "-net").ok());
  EXPECT_FALSE(validate_id("network", "a/b").ok());
  EXPECT_FALSE(validate_id("network", std::string(65, 'a')).ok());
}

TEST(EndpointSpec, AddressMustBeAFreeHostAddress) {
  EndpointSpec endpoint;
  endpoint.network_id = "app";
  endpoint.id = "task1";
  endpoint.ip = *Ipv4::parse("10.0.1.5");
  EXPECT_TRUE(validate_endpoint(endpoint, good_spec()).ok());
  endpoint.ip = *Ipv4::parse("10.0.1.1");
  EXPECT_NE(why(validate_endpoint(endpoint, good_spec())).find("gateway 10.0.1.1"),
            std::string::npos);
  endpoint.ip = *Ipv4::parse("10.9.1.5");
  EXPECT_FALSE(validate_endpoint(endpoint, good_spec()).ok());
  endpoint.ip = *Ipv4::parse("10.0.1.5");
  endpoint.ifname = "a-name-too-long0";
  EXPECT_FALSE(validate_endpoint(endpoint, good_spec()).ok());
}

TEST(NodeConfig, TagRules) {
  NodeConfig node{"h1", *Ipv4::parse("198.51.100.11"), std::nullopt};
  EXPECT_TRUE(validate_node(node).ok());
  node.tag = "H1";
  EXPECT_FALSE(validate_node(node).ok());
  node.tag = "";
  EXPECT_FALSE(validate_node(node).ok());
  node.tag = "h1";
  node.underlay_ip = Ipv4();
  EXPECT_FALSE(validate_node(node).ok());
}

TEST(Names, AreNodeScopedAndFitTheKernelLimits) {
  EXPECT_EQ(sandbox_netns("h1", "app"), "shoal-h1-net-app");
  EXPECT_EQ(endpoint_netns("h1", "task1"), "shoal-h1-ep-task1");
  EXPECT_NE(sandbox_netns("h1", "app"), sandbox_netns("h10", "app"));
  const std::string veth = sandbox_veth(std::string(64, 'x'));
  EXPECT_LE(veth.size(), 15u);
  EXPECT_EQ(veth, sandbox_veth(std::string(64, 'x')));
  EXPECT_NE(sandbox_veth("task1"), sandbox_veth("task2"));
}

}  // namespace
}  // namespace shoal::dataplane
