// Leader election on a real three-member etcd cluster: one leader, an immediate handover on
// resign, a new leader after the leader's member dies, and a leader that steps down by itself
// when it loses its member or the quorum.
#include <gtest/gtest.h>

#include <atomic>

#include "control/etcd/election.h"
#include "tests/netns/etcd/etcd_cluster.h"
#include "tests/support/wait.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;

struct Candidate {
  std::unique_ptr<etcd::Client> client;
  std::unique_ptr<etcd::Election> election;
  std::atomic<int> changes{0};
};

std::unique_ptr<Candidate> campaign(EtcdCluster& cluster, int member, const std::string& name) {
  auto candidate = std::make_unique<Candidate>();
  candidate->client = cluster.client(member, 800ms);
  candidate->election = etcd::Election::start(
      *candidate->client, {.key = "/shoal/leader", .candidate = name, .ttl = 2s, .poll = 100ms},
      [c = candidate.get()](const etcd::LeaderView&) { ++c->changes; });
  return candidate;
}

int leaders(const std::vector<Candidate*>& candidates) {
  int n = 0;
  for (auto* c : candidates)
    n += c->election->view().self ? 1 : 0;
  return n;
}

TEST(Election, OneLeaderAndEveryoneAgreesWhoItIs) {
  auto cluster = EtcdCluster::start(3);
  auto a = campaign(*cluster, 1, "a");
  auto b = campaign(*cluster, 2, "b");
  auto c = campaign(*cluster, 3, "c");
  std::vector<Candidate*> all = {a.get(), b.get(), c.get()};
  ASSERT_TRUE(wait_until(
      [&] {
        auto leader = a->election->view().leader;
        return !leader.empty() && b->election->view().leader == leader &&
               c->election->view().leader == leader;
      },
      5s, 50ms));
  EXPECT_EQ(leaders(all), 1);
  auto view = a->election->view();
  auto* winner = view.self ? a.get() : b->election->view().self ? b.get() : c.get();
  EXPECT_GT(winner->election->view().fence.create_revision, 0);
}

TEST(Election, ResigningHandsOverWithinAFewPolls) {
  auto cluster = EtcdCluster::start(3);
  auto a = campaign(*cluster, 1, "a");
  ASSERT_TRUE(wait_until([&] { return a->election->view().self; }, 5s, 50ms));
  auto b = campaign(*cluster, 2, "b");
  ASSERT_TRUE(wait_until([&] { return b->election->view().leader == "a"; }, 5s, 50ms));
  const auto started = std::chrono::steady_clock::now();
  a->election->resign();
  ASSERT_TRUE(wait_until([&] { return b->election->view().self; }, 5s, 20ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(Election, WhenTheLeadersMemberDiesAnotherLeadsAndTheOldOneStepsDown) {
  auto cluster = EtcdCluster::start(3);
  auto a = campaign(*cluster, 1, "a");
  ASSERT_TRUE(wait_until([&] { return a->election->view().self; }, 5s, 50ms));
  auto b = campaign(*cluster, 2, "b");
  auto c = campaign(*cluster, 3, "c");
  ASSERT_TRUE(wait_until([&] { return b->election->view().leader == "a"; }, 5s, 50ms));

  const auto started = std::chrono::steady_clock::now();
  cluster->member(1).stop();  // a's host: it can no longer renew its lease
  ASSERT_TRUE(wait_until([&] { return !a->election->view().self; }, 4s, 20ms));
  ASSERT_TRUE(
      wait_until([&] { return b->election->view().self || c->election->view().self; }, 10s, 20ms));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 6s);
  EXPECT_EQ(leaders({b.get(), c.get()}), 1);
  // The new leader's fence differs: a's writes would be refused (etcd_store_test).
  auto* winner = b->election->view().self ? b.get() : c.get();
  EXPECT_NE(winner->election->view().fence.create_revision, 0);
}

// Without a quorum every call times out; the leadership must still lapse when its lease can
// have (its 2 s TTL and a poll), not after the calls in flight have timed out too, nor while
// etcd's raft leader still renews leases by itself, not having noticed the lost quorum yet.
TEST(Election, ALeaderThatLosesTheQuorumStepsDownWhenItsLeaseEnds) {
  auto cluster = EtcdCluster::start(3);
  auto a = campaign(*cluster, 1, "a");
  ASSERT_TRUE(wait_until([&] { return a->election->view().self; }, 5s, 50ms));
  cluster->member(2).stop();
  cluster->member(3).stop();  // the quorum is gone once this returns, not before
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return !a->election->view().self; }, 10s, 20ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s + 500ms);
}

}  // namespace
}  // namespace shoal::testing
