// The SWIM/Lifeguard state machine driven without I/O: whole clusters on an in-memory network
// with a fake clock, so failures, refutations and timeouts are deterministic and fast.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "gossip/membership/memberlist.h"
#include "gossip/testing/fake_clock.h"
#include "gossip/testing/in_memory_network.h"

namespace shoal::gossip {
namespace {

using testing::FakeClock;
using testing::InMemoryNetwork;

struct Event {
  std::string kind;  // join, leave, failed, update
  std::string name;
};

class RecordingDelegate : public Delegate {
 public:
  void on_join(const Member& m) override { events.push_back({"join", m.name}); }
  void on_leave(const Member& m) override {
    events.push_back({m.state == MemberState::kLeft ? "leave" : "failed", m.name});
  }
  void on_update(const Member& m) override { events.push_back({"update", m.name}); }
  void notify_user_message(ByteView payload) override {
    user_messages.emplace_back(payload.begin(), payload.end());
  }
  bool saw(const std::string& kind, const std::string& name) const {
    for (const Event& e : events) {
      if (e.kind == kind && e.name == name)
        return true;
    }
    return false;
  }
  std::vector<Event> events;
  std::vector<Bytes> user_messages;
};

class Cluster {
 public:
  explicit Cluster(FakeClock& clock, InMemoryNetwork& net) : clock_(clock), net_(net) {}

  struct Node {
    NodeAddress addr;
    std::unique_ptr<RecordingDelegate> delegate;
    std::unique_ptr<Transport> transport;
    std::shared_ptr<Memberlist> list;
  };

  Node& add(const std::string& name, Config config = {}, Bytes meta = {},
            std::optional<NodeAddress> at = std::nullopt) {
    const NodeAddress addr =
        at.value_or(NodeAddress{Ipv4(0x7f000001 + static_cast<uint32_t>(nodes.size())), 7946});
    if (config.name.empty())
      config = Config::lan(name, addr);
    config.name = name;
    config.advertise = addr;
    config.random_seed = 1000 + nodes.size();
    auto node = std::make_unique<Node>();
    node->addr = addr;
    node->delegate = std::make_unique<RecordingDelegate>();
    auto proxy = std::make_unique<HandlerProxy>();
    node->transport = net_.attach(addr, proxy.get());
    auto list =
        Memberlist::create(config, std::move(meta), clock_, *node->transport, node->delegate.get());
    EXPECT_TRUE(list.ok());
    node->list = *list;
    proxy->target = node->list;
    proxies_.push_back(std::move(proxy));
    node->list->start();
    nodes.push_back(std::move(node));
    return *nodes.back();
  }

  // Joins `node` through `seed` and lets the push/pull complete.
  size_t join(Node& node, const Node& seed) {
    size_t joined = 0;
    node.list->join({seed.addr}, [&](size_t n, std::vector<Error>) { joined = n; });
    clock_.advance(100ms);
    return joined;
  }

  MemberState state_in(const Node& viewer, const std::string& name) const {
    auto m = viewer.list->member(name);
    return m ? m->state : MemberState::kDead;
  }

  std::vector<std::unique_ptr<Node>> nodes;

 private:
  // Forwards to the Memberlist once it exists (the transport is created first).
  struct HandlerProxy : TransportHandler {
    std::weak_ptr<Memberlist> target;
    void on_packet(const NodeAddress& from, ByteView packet) override {
      if (auto t = target.lock())
        t->on_packet(from, packet);
    }
    std::optional<Bytes> on_stream(const NodeAddress& from, ByteView frame) override {
      auto t = target.lock();
      return t ? t->on_stream(from, frame) : std::nullopt;
    }
  };
  FakeClock& clock_;
  InMemoryNetwork& net_;
  std::vector<std::unique_ptr<HandlerProxy>> proxies_;
};

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() { spdlog::set_level(spdlog::level::warn); }
  FakeClock clock;
  InMemoryNetwork net{clock};
  Cluster cluster{clock, net};

  void form(int n) {
    for (int i = 0; i < n; ++i) {
      auto& node = cluster.add("node-" + std::to_string(i));
      if (i > 0) {
        ASSERT_EQ(cluster.join(node, *cluster.nodes[0]), 1u);
      }
    }
    // Gossip usually converges within a second; push/pull bounds the rare stragglers.
    for (int step = 0; step < 600 && !converged(n); ++step)
      clock.advance(100ms);
    ASSERT_TRUE(converged(n));
  }
  bool converged(int n) {
    for (auto& viewer : cluster.nodes) {
      if (viewer->list->num_alive() != static_cast<size_t>(n))
        return false;
    }
    return true;
  }
  Cluster::Node& node(int i) { return *cluster.nodes[i]; }
};

TEST_F(MembershipTest, MembersConvergeAfterJoin) {
  form(5);
  for (auto& viewer : cluster.nodes) {
    EXPECT_EQ(viewer->list->num_alive(), 5u) << viewer->list->config().name;
  }
  EXPECT_TRUE(node(4).delegate->saw("join", "node-1"));   // learnt by gossip, not from its seed
  EXPECT_FALSE(node(4).delegate->saw("join", "node-4"));  // no event about ourselves
}

TEST_F(MembershipTest, SilentNodeIsSuspectedThenDeclaredDead) {
  form(5);
  net.isolate(node(4).addr, true);
  // Within a few probe rounds someone probes node-4 and suspects it.
  bool suspected = false;
  for (int i = 0; i < 100 && !suspected; ++i) {
    clock.advance(100ms);
    suspected = cluster.state_in(node(0), "node-4") == MemberState::kSuspect;
  }
  ASSERT_TRUE(suspected);
  // Suspicion ends within the max timeout: 6 × 4 × max(1, log10 5) × 1 s = 24 s.
  clock.advance(25s);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(cluster.state_in(node(i), "node-4"), MemberState::kDead) << i;
    EXPECT_TRUE(node(i).delegate->saw("failed", "node-4")) << i;
  }
}

TEST_F(MembershipTest, MalformedPacketsAreCountedAndIgnored) {
  form(2);
  const auto before = node(0).list->stats();
  node(0).list->on_packet(node(1).addr, Bytes{0x00, 0x93});           // truncated ping
  node(0).list->on_packet(node(1).addr, Bytes{0x0c, 1, 2, 3, 4, 5});  // bad CRC
  node(0).list->on_packet(node(1).addr, Bytes{0x63});                 // unknown type
  EXPECT_EQ(node(0).list->stats().packets_malformed, before.packets_malformed + 3);
  // An incomplete push/pull is answered with an err message (type 13), never a crash.
  auto reply = node(0).list->on_stream(node(1).addr, Bytes{0x06, 0x81});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->front(), 13);
  EXPECT_EQ(node(0).list->stats().streams_rejected, before.streams_rejected + 1);
  EXPECT_EQ(node(0).list->num_alive(), 2u);
}

TEST_F(MembershipTest, SuspectRefutesWithHigherIncarnation) {
  form(3);
  const uint32_t before = node(2).list->member("node-2")->incarnation;
  // Deliver an accusation straight to node-2, as if node-0 suspected it.
  node(2).list->on_packet(node(0).addr, encode(Suspect{before, "node-2", "node-0"}));
  const uint32_t after = node(2).list->member("node-2")->incarnation;
  EXPECT_EQ(after, before + 1);
  EXPECT_EQ(node(2).list->health_score(), 1);  // refuting costs local health
  clock.advance(2s);
  EXPECT_EQ(node(0).list->member("node-2")->incarnation, after);
  EXPECT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kAlive);
}

TEST_F(MembershipTest, SuspicionIsClearedByRefutation) {
  form(3);
  // node-0 suspects node-2; node-2 hears it through gossip and refutes.
  const uint32_t inc = node(0).list->member("node-2")->incarnation;
  node(0).list->on_packet(node(1).addr, encode(Suspect{inc, "node-2", "node-1"}));
  EXPECT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kSuspect);
  clock.advance(3s);
  EXPECT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kAlive);
  EXPECT_GT(node(0).list->member("node-2")->incarnation, inc);
  clock.advance(30s);
  EXPECT_FALSE(node(0).delegate->saw("failed", "node-2"));
}

TEST_F(MembershipTest, DeadAccusationAboutSelfIsRefuted) {
  form(2);
  const uint32_t inc = node(1).list->member("node-1")->incarnation;
  node(1).list->on_packet(node(0).addr, encode(Dead{inc + 3, "node-1", "node-0"}));
  EXPECT_EQ(node(1).list->member("node-1")->incarnation, inc + 4);
  EXPECT_EQ(cluster.state_in(node(1), "node-1"), MemberState::kAlive);
}

TEST_F(MembershipTest, IsolatedNodeRaisesItsAwarenessScore) {
  form(5);
  net.isolate(node(0).addr, true);
  clock.advance(6s);
  // Its probes fail although helpers exist, and none of the 3 expected nacks comes back: it
  // doubts itself (+3 per failed probe), which also stretches its probe interval.
  const int isolated_score = node(0).list->health_score();
  EXPECT_GE(isolated_score, 3);
  // The others probe node-0 only now and then; successful probes bring them back down.
  for (int i = 1; i < 5; ++i)
    EXPECT_LT(node(i).list->health_score(), isolated_score) << i;
  net.isolate(node(0).addr, false);
}

TEST_F(MembershipTest, GracefulLeaveIsSeenAsLeftNotFailed) {
  form(4);
  bool done = false;
  node(3).list->leave(5s, [&] { done = true; });
  clock.advance(3s);
  EXPECT_TRUE(done);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cluster.state_in(node(i), "node-3"), MemberState::kLeft) << i;
    EXPECT_TRUE(node(i).delegate->saw("leave", "node-3"));
    EXPECT_FALSE(node(i).delegate->saw("failed", "node-3"));
  }
}

TEST_F(MembershipTest, LeftAndDeadMembersAreReapedAfterGossipToTheDeadTime) {
  form(3);
  bool done = false;
  node(2).list->leave(5s, [&] { done = true; });
  clock.advance(2s);
  node(2).list->shutdown();
  ASSERT_TRUE(node(0).list->member("node-2").has_value());
  clock.advance(40s);
  EXPECT_FALSE(node(0).list->member("node-2").has_value());
}

TEST_F(MembershipTest, PushPullMergePrefersSuspectOverDeadHearsay) {
  form(3);
  // A push/pull claiming node-2 is dead makes node-0 only suspect it; node-2 then refutes.
  const Member m2 = *node(0).list->member("node-2");
  PushPull pp;
  pp.nodes.push_back(PushNodeState{"node-2",
                                   m2.addr.ip_bytes(),
                                   m2.addr.port,
                                   {},
                                   m2.incarnation,
                                   static_cast<int64_t>(MemberState::kDead),
                                   m2.versions.wire()});
  auto reply = node(0).list->on_stream(node(1).addr, encode_stream(pp));
  ASSERT_TRUE(reply.has_value());  // our own state comes back
  EXPECT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kSuspect);
  clock.advance(3s);
  EXPECT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kAlive);
}

TEST_F(MembershipTest, PushPullLearnsLeftMembersAndNewOnes) {
  form(2);
  PushPull pp;
  const Bytes addr = {127, 0, 0, 99};
  const Bytes vsn = Versions{}.wire();
  pp.nodes.push_back(PushNodeState{"ghost", addr, 7946, {}, 5, 0, vsn});
  auto reply = node(0).list->on_stream(node(1).addr, encode_stream(pp));
  EXPECT_EQ(cluster.state_in(node(0), "ghost"), MemberState::kAlive);
  EXPECT_TRUE(node(0).delegate->saw("join", "ghost"));
  pp.nodes[0].state = static_cast<int64_t>(MemberState::kLeft);
  reply = node(0).list->on_stream(node(1).addr, encode_stream(pp));
  EXPECT_EQ(cluster.state_in(node(0), "ghost"), MemberState::kLeft);
  EXPECT_TRUE(node(0).delegate->saw("leave", "ghost"));
}

TEST_F(MembershipTest, IncompatibleDelegateVersionsRefuseToJoin) {
  cluster.add("plain");  // delegate versions 0/0/0 like networkdb
  Config serfish = Config::lan("serfish", {});
  serfish.versions = Versions{1, 5, 2, 2, 5, 4};
  auto& other = cluster.add("serfish", serfish);
  std::vector<Error> errors;
  size_t joined = 9;
  other.list->join({node(0).addr}, [&](size_t n, std::vector<Error> e) {
    joined = n;
    errors = std::move(e);
  });
  clock.advance(100ms);
  EXPECT_EQ(joined, 0u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message(), ::testing::HasSubstr("delegate protocol version"));
  EXPECT_FALSE(node(0).list->member("serfish").has_value());
}

TEST_F(MembershipTest, MetaUpdateIsGossipedAsUpdate) {
  form(3);
  ASSERT_TRUE(node(1).list->update_meta({'x'}).ok());
  clock.advance(2s);
  EXPECT_EQ(node(0).list->member("node-1")->meta, Bytes{'x'});
  EXPECT_TRUE(node(0).delegate->saw("update", "node-1"));
  EXPECT_FALSE(node(1).list->update_meta(Bytes(513, 0)).ok());
}

TEST_F(MembershipTest, UserBroadcastsReachEveryMember) {
  form(4);
  node(2).list->queue_user_broadcast({'h', 'i'});
  clock.advance(3s);
  for (int i = 0; i < 4; ++i) {
    if (i == 2)
      continue;
    ASSERT_FALSE(node(i).delegate->user_messages.empty()) << i;
    EXPECT_EQ(node(i).delegate->user_messages[0], (Bytes{'h', 'i'}));
  }
}

TEST_F(MembershipTest, RestartedNodeWithSameNameComesBackAlive) {
  form(3);
  net.isolate(node(2).addr, true);
  clock.advance(12s);
  ASSERT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kDead);
  const uint32_t remembered = node(0).list->member("node-2")->incarnation;
  ASSERT_GT(remembered, 0u);
  node(2).list->shutdown();
  net.isolate(node(2).addr, false);
  // A fresh process at the same address: incarnation 1 again, not above what the cluster
  // remembers. The push/pull answer tells it that it is dead; it refutes with a higher number.
  auto& restarted = cluster.add("node-2", {}, {}, node(2).addr);
  ASSERT_EQ(cluster.join(restarted, node(0)), 1u);
  clock.advance(3s);
  EXPECT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kAlive);
  EXPECT_GT(node(0).list->member("node-2")->incarnation, remembered);
  EXPECT_TRUE(node(0).delegate->saw("join", "node-2"));
}

TEST_F(MembershipTest, HealedPartitionMergesThroughReconnect) {
  for (int i = 0; i < 3; ++i) {
    Config c = Config::lan("node-" + std::to_string(i), {});
    c.reconnect_interval = 2s;
    auto& n = cluster.add("node-" + std::to_string(i), c);
    if (i > 0) {
      ASSERT_EQ(cluster.join(n, node(0)), 1u);
    }
  }
  clock.advance(5s);
  net.isolate(node(2).addr, true);
  clock.advance(20s);
  ASSERT_EQ(cluster.state_in(node(0), "node-2"), MemberState::kDead);
  ASSERT_EQ(cluster.state_in(node(2), "node-0"), MemberState::kDead);
  net.isolate(node(2).addr, false);
  // Neither side probes or push/pulls a dead member; only the reconnect timer brings them back.
  clock.advance(10s);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(node(i).list->num_alive(), 3u) << i;
  }
}

TEST_F(MembershipTest, ClusterSurvivesPacketLossWithoutFalseFailures) {
  form(6);
  net.set_packet_loss(0.1);
  clock.advance(60s);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(node(i).list->num_alive(), 6u) << i;
    for (const Event& e : node(i).delegate->events)
      EXPECT_NE(e.kind, "failed") << e.name;
  }
}

TEST_F(MembershipTest, EncryptedMembersNeedTheSameKey) {
  auto ring = Keyring::create({Bytes(16, 7)});
  auto other_ring = Keyring::create({Bytes(16, 8)});
  Config a = Config::lan("a", {});
  a.security.keyring = &*ring;
  Config b = a;
  b.name = "b";
  Config c = a;
  c.name = "c";
  c.security.keyring = &*other_ring;
  auto& na = cluster.add("a", a);
  auto& nb = cluster.add("b", b);
  auto& nc = cluster.add("c", c);
  EXPECT_EQ(cluster.join(nb, na), 1u);
  EXPECT_EQ(cluster.join(nc, na), 0u);
  clock.advance(5s);
  EXPECT_EQ(na.list->num_alive(), 2u);
  EXPECT_FALSE(na.list->member("c").has_value());
  EXPECT_EQ(nc.list->num_alive(), 1u);
  // c's join was refused and counted; a plaintext packet is dropped and counted too.
  EXPECT_EQ(na.list->stats().streams_rejected, 1u);
  const uint64_t before = na.list->stats().packets_undecryptable;
  na.list->on_packet(nb.addr, encode(Ping{1, "a", {}, 0, ""}));
  EXPECT_EQ(na.list->stats().packets_undecryptable, before + 1);
  EXPECT_EQ(cluster.state_in(na, "b"), MemberState::kAlive);
}

TEST(Suspicion, TimeoutShrinksWithConfirmations) {
  const Duration min = suspicion_min_timeout(4, 10, 1s);
  EXPECT_EQ(min, 4s);
  EXPECT_EQ(suspicion_min_timeout(4, 100, 1s), 8s);
  EXPECT_EQ(suspicion_min_timeout(4, 1, 1s), 4s);
  const Duration max = 6 * min;
  const TimePoint t0{};
  Suspicion s("a", 2, min, max, t0);
  EXPECT_EQ(s.deadline(), t0 + 24s);
  EXPECT_FALSE(s.confirm("a"));  // the first accuser does not count twice
  EXPECT_TRUE(s.confirm("b"));
  // 24 − ln 2 / ln 3 × 20 = 11.381 s, floored to milliseconds.
  EXPECT_EQ(s.deadline(), t0 + 11381ms);
  EXPECT_FALSE(s.confirm("b"));
  EXPECT_TRUE(s.confirm("c"));
  EXPECT_EQ(s.deadline(), t0 + 4s);
  EXPECT_FALSE(s.confirm("d"));  // k reached
  Suspicion lonely("a", 0, min, max, t0);
  EXPECT_EQ(lonely.deadline(), t0 + 4s);
}

TEST(Awareness, ScoreIsClampedAndScalesTheProbeInterval) {
  Awareness a(8);
  a.apply_delta(-1);
  EXPECT_EQ(a.score(), 0);
  a.apply_delta(3);
  EXPECT_EQ(a.scale(1s), 4s);
  a.apply_delta(100);
  EXPECT_EQ(a.score(), 7);
}

TEST(BroadcastQueue, RetransmitLimitAndInvalidation) {
  EXPECT_EQ(BroadcastQueue::retransmit_limit(4, 1), 4);
  EXPECT_EQ(BroadcastQueue::retransmit_limit(4, 9), 4);
  EXPECT_EQ(BroadcastQueue::retransmit_limit(4, 10), 8);
  BroadcastQueue q(10);
  int finished = 0;
  q.queue("n1", {1}, [&] { ++finished; });
  q.queue("n1", {2}, [&] { ++finished; });  // replaces the first
  EXPECT_EQ(finished, 1);
  q.queue("n2", {3});
  auto first = q.take(2, 100, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], Bytes{3});  // newest first among equals
  q.take(2, 100, 2);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(finished, 2);
  q.queue("big", Bytes(50, 0));
  EXPECT_TRUE(q.take(2, 40, 4).empty());  // does not fit
}

}  // namespace
}  // namespace shoal::gossip
