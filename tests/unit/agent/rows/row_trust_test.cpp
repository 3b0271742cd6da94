// Gossiped rows checked against the manager's view, written as the review's attacks (repro A):
// a member pointing a task's address at its own VTEP, answering for an external name, or
// claiming addresses outside the network; and what an honest member sends passes.
#include "control/agent/rows/row_trust.h"

#include <gtest/gtest.h>

#include "control/agent/rows/endpoint_table.h"
#include "control/agent/rows/peer_record.h"

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
    // What the manager assigned: h3 runs task1 of web at .5; h1's own endpoint is .3.
    view_.addresses[kApp][*Ipv4::parse("10.0.1.5")] = {.node = "h3",
                                                       .task = "task1",
                                                       .service_id = "svc1",
                                                       .service_name = "web",
                                                       .vip = *Ipv4::parse("10.0.1.2")};
    view_.addresses[kApp][*Ipv4::parse("10.0.1.3")] = {.node = "h1"};
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

TEST_F(RowTrust, AMemberCannotAddItselfAsABackendOrClaimAnotherNodesTask) {
  // An address the manager gave to nobody: the member's own "task" of web.
  auto invented = check(endpoint_row("h3", "web", "10.0.1.9"));
  ASSERT_FALSE(invented.ok());
  EXPECT_NE(invented.error().message().find("assigned to nothing"), std::string::npos);
  EXPECT_FALSE(check(peer_row("h3", "10.0.1.9", "198.51.100.13")).ok());
  // h3's task, claimed by h1 (its VTEP its own): the traffic would go to h1.
  auto stolen = check(peer_row("h1", "10.0.1.5", "198.51.100.11"));
  ASSERT_FALSE(stolen.ok());
  EXPECT_NE(stolen.error().message().find("belongs to node h3"), std::string::npos);
  EXPECT_FALSE(check(endpoint_row("h1", "web", "10.0.1.5")).ok());
  // h1's own endpoint is a peer, never a service's backend.
  EXPECT_TRUE(check(peer_row("h1", "10.0.1.3", "198.51.100.11")).ok());
  EXPECT_FALSE(check(endpoint_row("h1", "web", "10.0.1.3")).ok());
}

TEST_F(RowTrust, AnEndpointOfAnotherServiceTaskOrVipIsRefused) {
  EXPECT_FALSE(check(endpoint_row("h3", "api", "10.0.1.5")).ok());  // web's task, named api
  auto row = endpoint_row("h3", "web", "10.0.1.5");
  auto record = decode_endpoint(row.value, kApp, row.key, false);
  ASSERT_TRUE(record.ok());
  record->vip = *Ipv4::parse("10.0.1.77");  // answering for another VIP
  row.value = encode_endpoint(*record);
  EXPECT_FALSE(check(row).ok());
  record->vip = *Ipv4::parse("10.0.1.2");
  row.value = encode_endpoint(*record);
  EXPECT_TRUE(check(row).ok());
  row.key = "task9";  // another task at web's task address (the key names the task)
  EXPECT_FALSE(check(row).ok());
}

TEST_F(RowTrust, ThisNodesOwnRowsAlwaysPass) {
  // Its own rows reach it before the first assignments name any node.
  EXPECT_TRUE(check_row({}, "h2", peer_row("h2", "10.0.1.5", "198.51.100.12")).ok());
}

}  // namespace
}  // namespace shoal::agent
