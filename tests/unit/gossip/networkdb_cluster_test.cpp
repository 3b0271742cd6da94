// Replicated tables over a whole in-memory cluster (fake clock): entries reach every member of
// their network and only them, survive heavy packet loss thanks to periodic bulk sync, and are
// hidden while their owner is down and restored when it comes back. A joiner holds re-gossip until
// its first bulk sync; left networks are reaped; node JOIN/LEAVE events.
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
using namespace std::chrono_literals;
using gossip::testing::InMemoryNetwork;

Bytes str(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

using Node = gossip::testing::ClusterNode;

class NetworkDbCluster : public ::testing::Test {
 protected:
  NetworkDbCluster() { spdlog::set_level(spdlog::level::warn); }

  Node& add(const std::string& name) { return cluster_.add(name); }
  NetworkDbConfig& db_config() { return cluster_.db_config; }

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

TEST_F(NetworkDbCluster, JoinerDoesNotRegossipUntilItsFirstBulkSyncAnswered) {
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  clock.advance(2s);
  ASSERT_TRUE(a.db->join_network("net-1").ok());
  ASSERT_TRUE(b.db->join_network("net-1").ok());
  EXPECT_TRUE(a.db->in_sync("net-1"));  // nobody to sync with: in sync at once
  clock.advance(2s);
  ASSERT_EQ(c.db->store().peers("net-1").size(), 2u);

  ASSERT_TRUE(c.db->join_network("net-1").ok());
  EXPECT_FALSE(c.db->in_sync("net-1"));
  // An event of a's reaching c before any bulk sync answer: applied, not re-gossiped.
  auto event_of_a = [](const std::string& key, uint64_t ltime) {
    return wrap(GossipType::kTableEvent, TableEvent{TableEventType::kCreate, ltime, "a", "net-1",
                                                    "peers", key, str("v"), 0});
  };
  c.db->notify_user_message(event_of_a("early", 1000));
  EXPECT_EQ(peers_table(c, "net-1").count("early"), 1u);
  EXPECT_EQ(c.db->queued_events("net-1"), 0u);

  clock.advance(10ms);  // a and b answer the unsolicited bulk syncs
  EXPECT_TRUE(c.db->in_sync("net-1"));
  c.db->notify_user_message(event_of_a("late", 1001));
  EXPECT_EQ(c.db->queued_events("net-1"), 1u);
}

TEST_F(NetworkDbCluster, JoinerWhoseBulkSyncsAllFailIsInSyncAnyway) {
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  clock.advance(2s);
  ASSERT_TRUE(a.db->join_network("net-1").ok());
  ASSERT_TRUE(b.db->join_network("net-1").ok());
  clock.advance(2s);
  net.isolate(a.addr, true);
  net.isolate(b.addr, true);
  ASSERT_TRUE(c.db->join_network("net-1").ok());
  EXPECT_FALSE(c.db->in_sync("net-1"));
  clock.advance(10ms);  // both connections refused
  EXPECT_TRUE(c.db->in_sync("net-1"));
}

TEST_F(NetworkDbCluster, LeftNetworkIsKeptAsTombstonesThenReaped) {
  db_config().store.reap_entry_interval = 20s;
  db_config().store.reap_network_interval = 45s;
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  clock.advance(2s);
  for (Node* n : {&a, &b, &c})
    ASSERT_TRUE(n->db->join_network("net-1").ok());
  clock.advance(1s);
  ASSERT_TRUE(a.db->create_entry("peers", "net-1", "ep-a", str("a")).ok());
  ASSERT_TRUE(b.db->create_entry("peers", "net-1", "ep-b", str("b")).ok());
  clock.advance(2s);
  ASSERT_EQ(peers_table(a, "net-1").size(), 2u);

  ASSERT_TRUE(b.db->leave_network("net-1").ok());
  clock.advance(2s);
  auto attachment = [](Node& n, const std::string& node) {
    for (const NetworkEntry& e : n.db->store().network_state().networks) {
      if (e.node_name == node && e.network_id == "net-1")
        return std::optional<bool>(e.leaving);
    }
    return std::optional<bool>();
  };
  for (Node* n : {&a, &c}) {
    EXPECT_EQ(peers_table(*n, "net-1"), (std::map<std::string, Bytes>{{"ep-a", str("a")}}));
    ASSERT_TRUE(n->db->store().get("peers", "net-1", "ep-b").has_value());
    EXPECT_TRUE(n->db->store().get("peers", "net-1", "ep-b")->deleting);
    EXPECT_EQ(attachment(*n, "b"), true);
  }
  EXPECT_FALSE(b.db->store().get("peers", "net-1", "ep-a").has_value());
  EXPECT_TRUE(b.db->store().get("peers", "net-1", "ep-b")->deleting);
  EXPECT_EQ(attachment(b, "b"), true);

  clock.advance(25s);  // past the tombstones' 20 s, before the network's 45 s
  for (Node* n : {&a, &b, &c}) {
    EXPECT_FALSE(n->db->store().get("peers", "net-1", "ep-b").has_value());
    EXPECT_EQ(attachment(*n, "b"), true);
  }
  clock.advance(25s);
  for (Node* n : {&a, &b, &c})
    EXPECT_EQ(attachment(*n, "b"), std::nullopt);

  // b comes back to the network and takes part again.
  ASSERT_TRUE(b.db->join_network("net-1").ok());
  clock.advance(1s);
  EXPECT_EQ(peers_table(b, "net-1").size(), 1u);
  ASSERT_TRUE(b.db->create_entry("peers", "net-1", "ep-b2", str("b2")).ok());
  clock.advance(2s);
  EXPECT_EQ(peers_table(a, "net-1").count("ep-b2"), 1u);
}

TEST_F(NetworkDbCluster, NodeJoinIsAnnouncedAndNodeLeaveRemovesEntriesBeforeMemberlistLeaves) {
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  clock.advance(2s);
  for (Node* n : {&a, &b, &c}) {
    for (const char* other : {"a", "b", "c"}) {
      if (n->db->store().self() != other) {
        EXPECT_TRUE(n->db->store().node_event_time(other).has_value())
            << n->db->store().self() << " never heard " << other << "'s JOIN";
      }
    }
    ASSERT_TRUE(n->db->join_network("net-1").ok());
  }
  clock.advance(1s);
  ASSERT_TRUE(a.db->create_entry("peers", "net-1", "ep-a", str("v")).ok());
  clock.advance(2s);
  ASSERT_EQ(peers_table(b, "net-1").size(), 1u);

  std::optional<MemberState> a_state_at_delete;
  b.db->watch("peers", [&](const WatchEvent& e) {
    if (e.type == WatchEventType::kDelete && e.key == "ep-a")
      a_state_at_delete = b.list->member("a")->state;
  });
  bool left = false;
  a.db->leave(5s, [&] { left = true; });
  clock.advance(3s);
  // The NodeEvent LEAVE removed the entry while memberlist still had a alive.
  ASSERT_TRUE(a_state_at_delete.has_value());
  EXPECT_EQ(*a_state_at_delete, MemberState::kAlive);
  EXPECT_TRUE(peers_table(c, "net-1").empty());
  EXPECT_TRUE(left);
  EXPECT_EQ(b.list->member("a")->state, MemberState::kLeft);
  EXPECT_EQ(c.list->member("a")->state, MemberState::kLeft);
}

TEST_F(NetworkDbCluster, MemberBackFromAPartitionIsBulkSyncedAtOnce) {
  db_config().sync_interval = 1h;  // no periodic anti-entropy: only the reconnect sync can help
  Node& a = add("a");
  Node& b = add("b");
  Node& c = add("c");
  clock.advance(2s);
  for (Node* n : {&a, &b, &c})
    ASSERT_TRUE(n->db->join_network("net-1").ok());
  clock.advance(1s);
  net.isolate(b.addr, true);
  clock.advance(15s);
  ASSERT_EQ(a.list->member("b")->state, MemberState::kDead);
  ASSERT_TRUE(a.db->create_entry("peers", "net-1", "made-while-apart", str("v")).ok());
  clock.advance(3s);  // gossip reaches c and is done
  ASSERT_EQ(peers_table(c, "net-1").count("made-while-apart"), 1u);
  ASSERT_EQ(a.db->queued_events("net-1") + c.db->queued_events("net-1"), 0u);
  net.isolate(b.addr, false);
  clock.advance(5s);
  ASSERT_EQ(a.list->member("b")->state, MemberState::kAlive);
  EXPECT_EQ(peers_table(b, "net-1").count("made-while-apart"), 1u);
}

}  // namespace
}  // namespace shoal::gossip::networkdb
