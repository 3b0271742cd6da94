#include "dataplane/tools/node_state.h"

#include <gtest/gtest.h>

namespace shoal::dataplane {
namespace {

std::string error_of(const std::string& json) {
  auto state = parse_node_state(json);
  return state.ok() ? "" : state.error().message();
}

TEST(NodeState, ParsesNetworksEndpointsAndPeers) {
  auto state = parse_node_state(R"({"networks":[{"id":"app","vni":4096,
      "subnet":"10.0.1.0/24","gateway":"10.0.1.1","mtu":1400,
      "endpoints":[{"id":"t1","ip":"10.0.1.5","netns":"ns1","ifname":"eth1",
                    "default_route":false}],
      "peers":[{"ip":"10.0.1.9","vtep":"198.51.100.12","mac":"02:00:00:00:00:09"}]}]})");
  ASSERT_TRUE(state.ok()) << state.error().message();
  const NetworkState& net = state->networks.at(0);
  EXPECT_EQ(net.spec.vni, 4096u);
  EXPECT_EQ(net.spec.mtu, 1400u);
  EXPECT_EQ(net.endpoints.at(0).netns, "ns1");
  EXPECT_EQ(net.endpoints.at(0).ifname, "eth1");
  EXPECT_FALSE(net.endpoints.at(0).default_route);
  EXPECT_EQ(net.peers.at(0).mac.str(), "02:00:00:00:00:09");
  EXPECT_EQ(net.peers.at(0).network_id, "app");
}

TEST(NodeState, PeerMacDefaultsToTheDerivedOne) {
  auto state = parse_node_state(R"({"networks":[{"id":"a","vni":1,"subnet":"10.0.1.0/24",
      "gateway":"10.0.1.1","peers":[{"ip":"10.0.1.9","vtep":"198.51.100.12"}]}]})");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->networks[0].peers[0].mac.str(), "02:42:0a:00:01:09");
}

TEST(NodeState, NamesWhatIsWrong) {
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("\"networks\" array"), std::string::npos);
  EXPECT_NE(error_of(R"({"networks":[{"vni":1}]})").find("missing \"id\""), std::string::npos);
  EXPECT_NE(error_of(R"({"networks":[{"id":"a","vni":-1}]})").find("\"vni\" must be"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"networks":[{"id":"a","vni":1,"subnet":"10.0.1.0/40",
      "gateway":"10.0.1.1"}]})")
                .find("length must be"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"networks":[{"id":"a","vni":1,"subnet":"10.0.1.0/24",
      "gateway":"10.0.1.1","endpoints":{}}]})")
                .find("\"endpoints\" must be an array"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"networks":[{"id":"a","vni":1,"subnet":"10.0.1.0/24",
      "gateway":"10.0.1.1","peers":[{"ip":"10.0.1.9"}]}]})")
                .find("missing \"vtep\""),
            std::string::npos);
}

}  // namespace
}  // namespace shoal::dataplane
