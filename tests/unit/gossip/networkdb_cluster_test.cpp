// Replicated tables over a whole in-memory cluster (fake clock): entries reach every member of
// their network and only them, survive heavy packet loss thanks to periodic bulk sync, and are
// hidden while their owner is down and restored when it comes back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "gossip/membership/memberlist.h"
#include "gossip/networkdb/network_db.h"
#include "gossip/testing/fake_clock.h"
#include "gossip/testing/in_memory_network.h"
#include "gossip/testing/networkdb_cluster.h"

namespace shoal::gossip::networkdb {
namespace {

using gossip::testing::FakeClock;
using gossip::testing::InMemoryNetwork;

Bytes str(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

using Node = gossip::testing::ClusterNode;

class NetworkDbCluster : public ::testing::Test {
 protected:
  NetworkDbCluster() { spdlog::set_level(spdlog::level::warn); }

  Node& add(const std::string& name) { return cluster_.add(name); }

  std::map<std::string, Bytes> peers_table(Node& n, const std::string& network) {
    return n.db->store().entries("peers", network);
  }

 private:
  gossip::testing::NetworkDbTestCluster cluster_;

 protected:
  FakeClock& clock = cluster_.clock;
  InMemoryNetwork& net = cluster_.net;
};

TEST_F(NetworkDbCluster, EntriesReachTheirNetworkOnly) {
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  Node& d = add("d");
  clock.advance(std::chrono::seconds(2));
  for (Node* n : {&a, &b, &c})
    ASSERT_TRUE(n->db->join_network("net-1").ok());
  for (Node* n : {&c, &d})
    ASSERT_TRUE(n->db->join_network("net-2").ok());
  clock.advance(std::chrono::seconds(2));

  std::vector<WatchEvent> b_events;
  b.db->watch("peers", [&](const WatchEvent& e) { b_events.push_back(e); });
  ASSERT_TRUE(a.db->create_entry("peers", "net-1", "ep-a", str("10.0.1.5")).ok());
  ASSERT_TRUE(d.db->create_entry("peers", "net-2", "ep-d", str("10.0.2.9")).ok());
  clock.advance(std::chrono::seconds(2));

  EXPECT_EQ(peers_table(b, "net-1"), (std::map<std::string, Bytes>{{"ep-a", str("10.0.1.5")}}));
  EXPECT_EQ(peers_table(c, "net-1").size(), 1u);
  EXPECT_EQ(peers_table(c, "net-2"), (std::map<std::string, Bytes>{{"ep-d", str("10.0.2.9")}}));
  EXPECT_TRUE(peers_table(d, "net-1").empty());
  EXPECT_FALSE(d.db->store().get("peers", "net-1", "ep-a").has_value());
  EXPECT_FALSE(a.db->store().get("peers", "net-2", "ep-d").has_value());
  ASSERT_EQ(b_events.size(), 1u);
  EXPECT_EQ(b_events[0].type, WatchEventType::kCreate);
  EXPECT_EQ(b_events[0].owner, "a");

  ASSERT_TRUE(a.db->update_entry("peers", "net-1", "ep-a", str("10.0.1.6")).ok());
  ASSERT_TRUE(a.db->delete_entry("peers", "net-1", "ep-a").ok());
  clock.advance(std::chrono::seconds(2));
  EXPECT_TRUE(peers_table(b, "net-1").empty());
  EXPECT_TRUE(peers_table(c, "net-1").empty());
  EXPECT_EQ(b_events.back().type, WatchEventType::kDelete);
}

TEST_F(NetworkDbCluster, LateJoinerGetsEverythingByBulkSync) {
  Node& a = add("a");
  clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(a.db->join_network("net-1").ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(a.db->create_entry("peers", "net-1", "ep" + std::to_string(i), str("v")).ok());
  }
  clock.advance(std::chrono::seconds(5));  // gossip has nobody to go to
  Node& b = add("b");
  clock.advance(std::chrono::seconds(2));
  ASSERT_TRUE(b.db->join_network("net-1").ok());
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(peers_table(b, "net-1").size(), 50u);
}

TEST_F(NetworkDbCluster, ConvergesDespiteThirtyPercentPacketLoss) {
  std::vector<Node*> all;
  for (const char* name : {"a", "b", "c", "d", "e"})
    all.push_back(&add(name));
  clock.advance(std::chrono::seconds(3));
  for (Node* n : all)
    ASSERT_TRUE(n->db->join_network("net-1").ok());
  clock.advance(std::chrono::seconds(3));
  net.set_packet_loss(0.3);
  for (size_t i = 0; i < all.size(); ++i) {
    for (int k = 0; k < 20; ++k) {
      ASSERT_TRUE(all[i]
                      ->db
                      ->create_entry("peers", "net-1",
                                     "n" + std::to_string(i) + "-" + std::to_string(k), str("v"))
                      .ok());
    }
  }
  // Periodic bulk sync (every 5 s, one random peer per network) repairs what gossip lost.
  clock.advance(std::chrono::seconds(40));
  net.set_packet_loss(0);
  for (Node* n : all)
    EXPECT_EQ(peers_table(*n, "net-1").size(), 100u);
  EXPECT_GT(net.packets_dropped(), 0u);
}

TEST_F(NetworkDbCluster, FailedOwnerIsHiddenAndRestoredWhenItReturns) {
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  clock.advance(std::chrono::seconds(2));
  for (Node* n : {&a, &b, &c})
    ASSERT_TRUE(n->db->join_network("net-1").ok());
  clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(a.db->create_entry("peers", "net-1", "ep-a", str("v")).ok());
  clock.advance(std::chrono::seconds(2));
  ASSERT_EQ(peers_table(b, "net-1").size(), 1u);

  net.isolate(a.addr, true);
  clock.advance(std::chrono::seconds(15));
  ASSERT_EQ(b.list->member("a")->state, MemberState::kDead);
  EXPECT_TRUE(peers_table(b, "net-1").empty());
  EXPECT_TRUE(b.db->store().get("peers", "net-1", "ep-a").has_value());  // kept, hidden

  net.isolate(a.addr, false);
  // Reconnect: a push/pull with a failed member tells a it was declared dead; it refutes and
  // the others see it join again.
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(b.list->member("a")->state, MemberState::kAlive);
  EXPECT_EQ(peers_table(b, "net-1").size(), 1u);
}

}  // namespace
}  // namespace shoal::gossip::networkdb
