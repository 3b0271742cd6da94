// networkdb wire messages (proto3) and the replicated table rules: Lamport order, tombstones,
// reaping, network scoping, owner failure and return, and the watch API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gossip/networkdb/proto.h"
#include "gossip/networkdb/table_store.h"
#include "tests/unit/gossip/test_bytes.h"

namespace shoal::gossip::networkdb {
namespace {

using gossip::testing::cat;
using gossip::testing::hex;
using gossip::testing::to_hex;

Bytes str(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

TEST(NetworkDbProto, TableEventMatchesProtocolsExample) {
  const Bytes peer_record = cat({hex("0a 0b"), str("10.0.1.5/24"), hex("12 11"),
                                 str("02:42:0a:00:01:05"), hex("1a 0c"), str("192.168.1.10")});
  const TableEvent ev{TableEventType::kCreate, 7,     "a1b2c3d4e5f6", "n1",
                      "overlay_peer_table",    "ep1", peer_record,    0};
  const Bytes golden = cat({hex("08 02 12 5f 08 01 10 07 1a 0c"), str("a1b2c3d4e5f6"), hex("22 02"),
                            str("n1"), hex("2a 12"), str("overlay_peer_table"), hex("32 03"),
                            str("ep1"), hex("3a 2e"), peer_record});
  ASSERT_EQ(golden.size(), 99u);
  EXPECT_EQ(to_hex(wrap(GossipType::kTableEvent, ev)), to_hex(golden));
  auto outer = decode_gossip_message(golden);
  ASSERT_TRUE(outer.ok());
  EXPECT_EQ(outer->type, GossipType::kTableEvent);
  auto inner = decode_table_event(outer->data);
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(*inner, ev);
}

TEST(NetworkDbProto, RoundTrips) {
  const TableEvent del{TableEventType::kDelete, 300, "n", "net", "t", "k", {}, -1};
  EXPECT_EQ(*decode_table_event(encode(del)), del);
  const NodeEvent node{NodeEventType::kLeave, 1ull << 40, "node-a"};
  EXPECT_EQ(*decode_node_event(encode(node)), node);
  const NetworkEvent net{NetworkEventType::kJoin, 9, "node-a", "net-1"};
  EXPECT_EQ(*decode_network_event(encode(net)), net);
  const NetworkPushPull pp{5, {{"net-1", 3, "a", false}, {"net-2", 4, "b", true}}, "a"};
  EXPECT_EQ(*decode_network_push_pull(encode(pp)), pp);
  const BulkSyncMessage bulk{8, true, "a", {"net-1", "net-2"}, {1, 2, 3}};
  EXPECT_EQ(*decode_bulk_sync(encode(bulk)), bulk);
  const CompoundMessage compound{{encode(GossipMessage{GossipType::kNodeEvent, encode(node)}),
                                  encode(GossipMessage{GossipType::kNetworkEvent, encode(net)})}};
  EXPECT_EQ(*decode_compound(encode(compound)), compound);
  // Zero values are omitted, as proto3 does.
  EXPECT_EQ(to_hex(encode(NodeEvent{})), "");
}

TEST(NetworkDbProto, MalformedInputIsRejected) {
  EXPECT_THAT(decode_table_event(hex("08")).error().message(), ::testing::HasSubstr("truncated"));
  EXPECT_THAT(decode_table_event(hex("1a 05 61")).error().message(),
              ::testing::HasSubstr("exceeds the message"));
  EXPECT_THAT(decode_table_event(hex("1b")).error().message(), ::testing::HasSubstr("wire type 3"));
  EXPECT_THAT(decode_table_event(hex("08 ff ff ff ff ff ff ff ff ff ff 01")).error().message(),
              ::testing::HasSubstr("longer than 10 bytes"));
  EXPECT_THAT(decode_table_event(hex("1a 01")).error().message(), ::testing::HasSubstr("exceeds"));
  EXPECT_THAT(decode_table_event(hex("0a 00")).error().message(),
              ::testing::HasSubstr("wire type 2, expected 0"));
  EXPECT_THAT(decode_gossip_message(hex("00 00")).error().message(),
              ::testing::HasSubstr("field number 0"));
  EXPECT_FALSE(decode_compound(hex("0a 02 0a 00 0a 02 0a 00 0a 02 0a 00"), 2).ok());
  // Unknown fields of every wire type are skipped.
  auto skipped = decode_node_event(hex("28 00 0d 01 02 03 04 09 01 02 03 04 05 06 07 08 10 05"));
  ASSERT_TRUE(skipped.ok()) << skipped.error().message();
  EXPECT_EQ(skipped->ltime, 5u);
}

class TableStoreTest : public ::testing::Test {
 protected:
  TimePoint t0{std::chrono::hours(1)};
  TableStore a{"a"}, b{"b"};
  std::vector<WatchEvent> seen;

  void SetUp() override {
    // Both are in net-1; each knows the other is attached.
    b.apply(a.join_network("net-1", t0), t0);
    a.apply(b.join_network("net-1", t0), t0);
    b.watch("peers", [this](const WatchEvent& e) { seen.push_back(e); });
  }
};

TEST_F(TableStoreTest, NewerLamportTimeWinsWhateverTheOrder) {
  auto create = a.create("peers", "net-1", "ep1", str("v1"), t0);
  auto update = a.update("peers", "net-1", "ep1", str("v2"), t0);
  ASSERT_TRUE(create.ok() && update.ok());
  EXPECT_TRUE(b.apply(*update, t0));
  EXPECT_FALSE(b.apply(*create, t0));  // late and older: ignored
  EXPECT_EQ(b.entries("peers", "net-1").at("ep1"), str("v2"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, WatchEventType::kCreate);
  EXPECT_EQ(seen[0].owner, "a");
  EXPECT_FALSE(b.apply(*update, t0));  // duplicate
}

TEST_F(TableStoreTest, DeleteLeavesTombstoneThatBeatsLateCreateAndIsReaped) {
  auto create = a.create("peers", "net-1", "ep1", str("v1"), t0);
  auto del = a.remove("peers", "net-1", "ep1", t0);
  ASSERT_TRUE(create.ok() && del.ok());
  EXPECT_EQ(del->residual_reap_time, 1800);
  EXPECT_TRUE(b.apply(*del, t0));
  EXPECT_FALSE(b.apply(*create, t0));
  EXPECT_TRUE(b.entries("peers", "net-1").empty());
  ASSERT_TRUE(b.get("peers", "net-1", "ep1").has_value());
  EXPECT_TRUE(b.get("peers", "net-1", "ep1")->deleting);
  EXPECT_TRUE(seen.empty());  // never visible on b
  b.reap(t0 + std::chrono::minutes(29));
  EXPECT_TRUE(b.get("peers", "net-1", "ep1").has_value());
  b.reap(t0 + std::chrono::minutes(31));
  EXPECT_FALSE(b.get("peers", "net-1", "ep1").has_value());
}

// `a` restarts under the same name: its new store knows nothing of what it wrote before, and b
// still holds it. What a holds now must win at b, whatever times the old entries carry.
TEST_F(TableStoreTest, ARestartedOwnerReclaimsItsOldEntriesFromPeers) {
  auto created = a.create("peers", "net-1", "ep1", str("old"), t0);
  ASSERT_TRUE(created.ok() && b.apply(*created, t0));
  for (int i = 0; i < 5; ++i) {  // later times than the restarted store's clock will start at
    auto updated = a.update("peers", "net-1", "ep1", str("old"), t0);
    ASSERT_TRUE(updated.ok() && b.apply(*updated, t0));
  }
  auto gone = a.create("peers", "net-1", "ep2", str("old"), t0);  // its task is gone since
  ASSERT_TRUE(gone.ok() && b.apply(*gone, t0));
  ASSERT_EQ(b.snapshot("net-1", t0).size(), 2u);

  TableStore restarted{"a"};
  b.apply(restarted.join_network("net-1", t0), t0);
  restarted.apply(b.join_network("net-1", t0), t0);
  ASSERT_TRUE(restarted.create("peers", "net-1", "ep1", str("new"), t0).ok());  // adopted
  for (const TableEvent& ev : b.snapshot("net-1", t0)) {
    auto reclaimed = restarted.reclaim_own(ev, t0);
    ASSERT_TRUE(reclaimed.has_value()) << ev.key;
    EXPECT_GT(reclaimed->ltime, ev.ltime);
    EXPECT_TRUE(b.apply(*reclaimed, t0)) << ev.key;
  }
  EXPECT_EQ(b.entries("peers", "net-1"), (std::map<std::string, Bytes>{{"ep1", str("new")}}));
  // Nothing more once b holds what a holds; and never about another node's entries.
  for (const TableEvent& ev : b.snapshot("net-1", t0))
    EXPECT_FALSE(restarted.reclaim_own(ev, t0).has_value()) << ev.key;
  auto others = b.create("peers", "net-1", "ep3", str("b's"), t0);
  EXPECT_FALSE(restarted.reclaim_own(*others, t0).has_value());
}

TEST_F(TableStoreTest, LocalApiRules) {
  EXPECT_TRUE(a.create("peers", "net-1", "k", str("1"), t0).ok());
  EXPECT_FALSE(a.create("peers", "net-1", "k", str("1"), t0).ok());  // exists
  EXPECT_FALSE(a.update("peers", "net-1", "nope", str("1"), t0).ok());
  EXPECT_FALSE(a.remove("peers", "net-1", "nope", t0).ok());
  EXPECT_FALSE(a.create("peers", "net-9", "k", str("1"), t0).ok());  // not in network
  EXPECT_TRUE(a.remove("peers", "net-1", "k", t0).ok());
  EXPECT_TRUE(a.create("peers", "net-1", "k", str("2"), t0).ok());  // re-create after delete
}

TEST_F(TableStoreTest, EventsOnlyCountInsideTheNetwork) {
  TableStore c{"c"};  // not in net-1
  auto ev = a.create("peers", "net-1", "ep1", str("v"), t0);
  EXPECT_FALSE(c.apply(*ev, t0));
  EXPECT_TRUE(c.entries("peers", "net-1").empty());
  // An owner that is not attached to the network is ignored too.
  TableEvent forged = *ev;
  forged.node_name = "mallory";
  forged.key = "ep2";
  EXPECT_FALSE(b.apply(forged, t0));
  // Our own events coming back are ignored.
  EXPECT_FALSE(a.apply(*ev, t0));
}

TEST_F(TableStoreTest, OwnerLeavingNetworkRemovesItsEntries) {
  ASSERT_TRUE(b.apply(*a.create("peers", "net-1", "ep1", str("v"), t0), t0));
  EXPECT_TRUE(b.apply(a.leave_network("net-1", t0), t0));
  EXPECT_TRUE(b.entries("peers", "net-1").empty());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].type, WatchEventType::kDelete);
  EXPECT_EQ(b.peers("net-1"), std::vector<std::string>{});
}

TEST_F(TableStoreTest, OwnerLeavingNetworkLeavesTombstonesAndAttachmentUntilReaped) {
  auto create = a.create("peers", "net-1", "ep1", str("v"), t0);
  ASSERT_TRUE(b.apply(*create, t0));
  ASSERT_TRUE(b.apply(a.leave_network("net-1", t0), t0));
  ASSERT_TRUE(b.get("peers", "net-1", "ep1").has_value());
  EXPECT_TRUE(b.get("peers", "net-1", "ep1")->deleting);
  // A bulk sync from a member that missed the leave cannot bring the entry back.
  EXPECT_FALSE(b.apply(*create, t0));
  auto leaving = [](TableStore& s, const std::string& node) {
    for (const NetworkEntry& n : s.network_state().networks) {
      if (n.node_name == node && n.network_id == "net-1")
        return std::optional<bool>(n.leaving);
    }
    return std::optional<bool>();
  };
  EXPECT_EQ(leaving(b, "a"), true);
  EXPECT_EQ(leaving(a, "a"), true);
  // Tombstones go after 30 min, the attachment 25 s later.
  b.reap(t0 + std::chrono::minutes(30) + std::chrono::seconds(10));
  EXPECT_FALSE(b.get("peers", "net-1", "ep1").has_value());
  EXPECT_EQ(leaving(b, "a"), true);
  b.reap(t0 + std::chrono::minutes(30) + std::chrono::seconds(25));
  EXPECT_EQ(leaving(b, "a"), std::nullopt);
  a.reap(t0 + std::chrono::minutes(31));
  EXPECT_EQ(leaving(a, "a"), std::nullopt);
  // A late JOIN older than the reaped leave would be accepted; a fresh one certainly is.
  EXPECT_TRUE(b.apply(a.join_network("net-1", t0), t0));
  EXPECT_EQ(b.peers("net-1"), std::vector<std::string>{"a"});
}

TEST_F(TableStoreTest, LeavingANetworkTombstonesOwnEntriesAndDropsOthers) {
  auto theirs = b.create("peers", "net-1", "theirs", str("b"), t0);
  ASSERT_TRUE(a.apply(*theirs, t0));
  auto mine = a.create("peers", "net-1", "mine", str("a"), t0);
  ASSERT_TRUE(b.apply(*mine, t0));
  a.leave_network("net-1", t0);
  EXPECT_FALSE(a.get("peers", "net-1", "theirs").has_value());
  ASSERT_TRUE(a.get("peers", "net-1", "mine").has_value());
  EXPECT_TRUE(a.get("peers", "net-1", "mine")->deleting);
  EXPECT_GT(a.get("peers", "net-1", "mine")->ltime, mine->ltime);
  // Rejoining before b saw the leave: the bulk sync's tombstone purges b's stale copy, and b's
  // entry is accepted again.
  b.apply(a.join_network("net-1", t0), t0);
  for (const TableEvent& ev : a.snapshot("net-1", t0))
    b.apply(ev, t0);
  EXPECT_EQ(b.entries("peers", "net-1").count("mine"), 0u);
  EXPECT_TRUE(a.apply(*theirs, t0));
  EXPECT_EQ(a.entries("peers", "net-1").count("theirs"), 1u);
}

TEST_F(TableStoreTest, NodeLeaveRemovesEntriesAndStaleNodeEventsAreIgnored) {
  ASSERT_TRUE(b.apply(*a.create("peers", "net-1", "ep1", str("v"), t0), t0));
  const NodeEvent join = a.node_event(NodeEventType::kJoin);
  const NodeEvent leave = a.node_event(NodeEventType::kLeave);
  EXPECT_GT(leave.ltime, join.ltime);
  EXPECT_TRUE(b.apply(leave, t0));
  EXPECT_TRUE(b.entries("peers", "net-1").empty());
  EXPECT_FALSE(b.get("peers", "net-1", "ep1").has_value());
  EXPECT_EQ(seen.back().type, WatchEventType::kDelete);
  EXPECT_TRUE(b.peers("net-1").empty());
  EXPECT_FALSE(b.apply(join, t0));   // older than the leave
  EXPECT_FALSE(b.apply(leave, t0));  // duplicate
  EXPECT_EQ(b.node_event_time("a"), leave.ltime);
  EXPECT_FALSE(a.apply(leave, t0));  // about ourselves
}

TEST_F(TableStoreTest, FailedOwnerIsHiddenThenRestoredOrReaped) {
  ASSERT_TRUE(b.apply(*a.create("peers", "net-1", "ep1", str("v"), t0), t0));
  b.node_failed("a", t0);
  EXPECT_TRUE(b.entries("peers", "net-1").empty());
  EXPECT_EQ(seen.back().type, WatchEventType::kDelete);
  EXPECT_TRUE(b.node_returned("a"));
  EXPECT_FALSE(b.node_returned("a"));  // already back
  EXPECT_EQ(b.entries("peers", "net-1").at("ep1"), str("v"));
  EXPECT_EQ(seen.back().type, WatchEventType::kCreate);
  b.node_failed("a", t0);
  b.reap(t0 + std::chrono::hours(25));
  EXPECT_FALSE(b.get("peers", "net-1", "ep1").has_value());
  b.node_returned("a");  // too late: the entry is gone
  EXPECT_TRUE(b.entries("peers", "net-1").empty());
}

TEST_F(TableStoreTest, SnapshotCarriesTombstonesWithRemainingReapTime) {
  ASSERT_TRUE(a.create("peers", "net-1", "live", str("1"), t0).ok());
  ASSERT_TRUE(a.create("peers", "net-1", "gone", str("2"), t0).ok());
  ASSERT_TRUE(a.remove("peers", "net-1", "gone", t0).ok());
  auto snap = a.snapshot("net-1", t0 + std::chrono::minutes(10));
  ASSERT_EQ(snap.size(), 2u);
  for (const TableEvent& ev : snap) {
    if (ev.key == "gone") {
      EXPECT_EQ(ev.type, TableEventType::kDelete);
      EXPECT_EQ(ev.residual_reap_time, 20 * 60);
    } else {
      EXPECT_EQ(ev.type, TableEventType::kCreate);
    }
    EXPECT_TRUE(b.apply(ev, t0));
  }
  EXPECT_EQ(b.entries("peers", "net-1").size(), 1u);
}

TEST_F(TableStoreTest, NetworkStateMergesAttachments) {
  TableStore c{"c"};
  c.join_network("net-1", t0);
  c.merge_network_state(a.network_state(), t0);
  EXPECT_THAT(c.peers("net-1"), ::testing::UnorderedElementsAre("a", "b"));
  EXPECT_GT(c.network_clock().time(), a.network_clock().time() - 1);
}

}  // namespace
}  // namespace shoal::gossip::networkdb
