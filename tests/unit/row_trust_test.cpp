// Gossiped rows checked against the manager's view, written as the review's attacks (repro A):
// a member pointing a task's address at its own VTEP, answering for an external name, or
// claiming addresses outside the network; and what an honest member sends passes.
#include "control/agent/row_trust.h"

#include <gtest/gtest.h>

#include "control/agent/endpoint_table.h"
#include "control/agent/peer_record.h"

namespace shoal::agent {
namespace {

using gossip::networkdb::WatchEvent;
using gossip::networkdb::WatchEventType;

constexpr const char* kApp = "appnet";

class RowTrust : public ::testing::Test {
 protected:
  RowTrust() {
    view_.nodes = {{"h1", *Ipv4::parse("198.51.100.11")}, {"h3", *Ipv4::parse("198.51.100.13")}};
    view_.subnets = {{kApp, *Ipv4Prefix::parse("10.0.1.0/24")}};
  }

  static WatchEvent peer_row(const std::string& owner, const std::string& ip,
                             const std::string& vtep, std::string mac = "") {
    auto addr = *Ipv4Prefix::parse(ip + "/24");
    PeerRecord record{.ip = addr,
                      .mac = mac.empty() ? Mac::from_ipv4(addr.addr()) : *Mac::parse(mac),
                      .vtep = *Ipv4::parse(vtep)};
    return {WatchEventType::kCreate, kPeerTable, kApp, "ep1", encode_peer(record), owner};
  }

  static WatchEvent endpoint_row(const std::string& owner, const std::string& name,
                                 const std::string& ip, std::vector<std::string> aliases = {}) {
    EndpointRecord record;
    record.service_id = "svc1";
    record.service_name = name;
    record.aliases = std::move(aliases);
    record.network_id = kApp;
    record.vip = *Ipv4::parse("10.0.1.2");
    record.task_id = "task1";
    record.task_ip = *Ipv4::parse(ip);
    record.running = true;
    return {WatchEventType::kCreate, kEndpointTable, kApp, "task1", encode_endpoint(record), owner};
  }

  Status check(const WatchEvent& event) { return check_row(view_, "h2", event); }

  SwarmView view_;
};

TEST_F(RowTrust, AnHonestMembersRowsPass) {
  EXPECT_TRUE(check(peer_row("h3", "10.0.1.5", "198.51.100.13")).ok());
  EXPECT_TRUE(check(endpoint_row("h3", "web", "10.0.1.5", {"api", "web-v2"})).ok());
}

TEST_F(RowTrust, APeerAtAnotherVtepThanItsOwnersAddressIsRefused) {
  // Repro A2/A3: the FDB entry would send the task's traffic to the attacker's host.
  auto refused = check(peer_row("h3", "10.0.1.200", "198.51.100.14"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not the owner's address"), std::string::npos);
}

TEST_F(RowTrust, RowsOfAnOwnerThatIsNoNodeAreRefused) {
  auto refused = check(peer_row("rogue-node", "10.0.1.200", "198.51.100.14"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not a node of this swarm"), std::string::npos);
  EXPECT_FALSE(check(endpoint_row("rogue-node", "web", "10.0.1.7")).ok());
}

TEST_F(RowTrust, APeerWithAForeignMacOrAnAddressOutsideTheSubnetIsRefused) {
  EXPECT_FALSE(check(peer_row("h3", "10.0.1.5", "198.51.100.13", "02:42:0a:00:01:09")).ok());
  EXPECT_FALSE(check(peer_row("h3", "10.9.9.9", "198.51.100.13")).ok());
  auto elsewhere = peer_row("h3", "10.0.1.5", "198.51.100.13");
  elsewhere.network = "not-my-network";
  EXPECT_FALSE(check(elsewhere).ok());
}

TEST_F(RowTrust, NamesTheControlApiWouldRefuseAreRefused) {
  // Repro A4: a row named api.github.com made the external name resolve to the attacker.
  EXPECT_FALSE(check(endpoint_row("h3", "api.github.com", "10.0.1.5")).ok());
  EXPECT_FALSE(check(endpoint_row("h3", "web", "10.0.1.5", {"www.example.com"})).ok());
  EXPECT_FALSE(check(endpoint_row("h3", "web\x1b]0;owned\a", "10.0.1.5")).ok());
  EXPECT_FALSE(check(endpoint_row("h3", "web", "10.2.0.5")).ok());  // outside the subnet
}

TEST_F(RowTrust, ThisNodesOwnRowsAlwaysPass) {
  // Its own rows reach it before the first assignments name any node.
  EXPECT_TRUE(check_row({}, "h2", peer_row("h2", "10.0.1.5", "198.51.100.12")).ok());
}

}  // namespace
}  // namespace shoal::agent
