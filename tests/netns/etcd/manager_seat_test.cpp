// Manager seats on real etcd members: the single manager's store moving into etcd, managers
// joining, a planned handover that keeps every object, a restarted manager rejoining as a
// follower, and removals refused when they would cost the quorum.
#include "control/manager/leadership/manager_seat.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/netns/etcd/etcd_cluster.h"
#include "tests/support/wait.h"

namespace shoal::testing {
namespace {

using manager::ManagerSeat;
using namespace std::chrono_literals;

class Seats : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-seat-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    certs_ = make_certificates();
  }
  void TearDown() override {
    for (auto& seat : seats_)
      seat.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  manager::SeatConfig config(int i) {
    const std::string name = "n" + std::to_string(i);
    const std::string ip = EtcdCluster::ip(i);
    return manager::SeatConfig{.node_id = name,
                               .dir = dir_ + "/" + name,
                               .runtime = {},
                               .advertise_ip = ip,
                               .manager_addr = ip + ":2377",
                               .tls = certs_.manager(name, ip),
                               .lease_ttl = 2s,
                               .poll = 100ms};
  }

  std::unique_ptr<ManagerSeat>& seat(int i) { return seats_[static_cast<size_t>(i)]; }

  // Joins manager i through the leader `via`.
  void join(int i, int via) {
    auto cluster = seat(via)->add_member("n" + std::to_string(i), EtcdCluster::ip(i));
    ASSERT_TRUE(cluster.ok()) << cluster.error().message();
    auto joined = ManagerSeat::replicated(config(i), *cluster);
    ASSERT_TRUE(joined.ok()) << joined.error().message();
    seat(i) = std::move(*joined);
  }

  std::string dir_;
  Certificates certs_;
  std::unique_ptr<ManagerSeat> seats_[4];
};

Result<std::string> create_network(manager::ManagerRuntime& runtime, const std::string& name) {
  manager::Network network;
  network.id = runtime.ids().next();
  network.name = name;
  SHOAL_TRY(runtime.store().update([&](manager::WriteTx& tx) { return tx.create(network); }));
  return network.id;
}

uint32_t vni_of(manager::ManagerRuntime& runtime, const std::string& id) {
  uint32_t vni = 0;
  runtime.store().view([&](const manager::ReadTx& tx) {
    if (auto network = tx.get_network(id))
      vni = network->vni;
  });
  return vni;
}

int leading(std::initializer_list<ManagerSeat*> seats) {
  int n = 0;
  for (auto* s : seats)
    n += s->runtime() != nullptr ? 1 : 0;
  return n;
}

TEST(MemberRemoval, KeepsAQuorumOfWhatRemains) {
  EXPECT_TRUE(manager::check_member_removal(3, 2, "a").ok());   // 2 remain, both reachable
  EXPECT_FALSE(manager::check_member_removal(3, 1, "a").ok());  // 2 remain, one reachable
  EXPECT_TRUE(manager::check_member_removal(5, 3, "a").ok());
  EXPECT_FALSE(manager::check_member_removal(5, 2, "a").ok());
  auto last = manager::check_member_removal(1, 0, "a");
  ASSERT_FALSE(last.ok());
  EXPECT_NE(last.error().message().find("last manager"), std::string::npos);
  auto lossy = manager::check_member_removal(3, 1, "a");
  EXPECT_NE(lossy.error().message().find("--force"), std::string::npos);
}

TEST_F(Seats, TheSingleStoreMovesIntoEtcdAndSurvivesAHandover) {
  auto single = ManagerSeat::single(config(1));
  ASSERT_TRUE(single.ok()) << single.error().message();
  seat(1) = std::move(*single);
  auto app = create_network(*seat(1)->runtime(), "app");
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE(wait_until([&] { return vni_of(*seat(1)->runtime(), *app) != 0; }, 5s, 20ms));
  const uint32_t app_vni = vni_of(*seat(1)->runtime(), *app);

  auto replicated = seat(1)->replicate();
  ASSERT_TRUE(replicated.ok()) << replicated.error().message();
  ASSERT_TRUE(seat(1)->is_replicated());
  ASSERT_NE(seat(1)->runtime(), nullptr);
  EXPECT_EQ(vni_of(*seat(1)->runtime(), *app), app_vni);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/n1/store.db"));

  join(2, 1);
  join(3, 1);
  ASSERT_TRUE(wait_until(
      [&] { return seat(2)->leader().leader == "n1" && seat(3)->leader().leader == "n1"; }, 10s,
      50ms));
  auto members = seat(1)->members();
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->size(), 3u);
  EXPECT_EQ(leading({seat(1).get(), seat(2).get(), seat(3).get()}), 1);

  const auto started = std::chrono::steady_clock::now();
  seat(1).reset();  // a planned stop: the lease is revoked
  ASSERT_TRUE(wait_until([&] { return leading({seat(2).get(), seat(3).get()}) == 1; }, 10s, 20ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  auto* next = seat(2)->runtime() ? seat(2).get() : seat(3).get();
  auto runtime = next->runtime();
  EXPECT_EQ(vni_of(*runtime, *app), app_vni);
  auto db = create_network(*runtime, "db");
  ASSERT_TRUE(db.ok()) << db.error().message();
  ASSERT_TRUE(wait_until([&] { return vni_of(*runtime, *db) != 0; }, 5s, 20ms));
  EXPECT_NE(vni_of(*runtime, *db), app_vni);

  // The first manager comes back from its data and follows.
  auto back = ManagerSeat::replicated(config(1));
  ASSERT_TRUE(back.ok()) << back.error().message();
  seat(1) = std::move(*back);
  ASSERT_TRUE(wait_until([&] { return !seat(1)->leader().leader.empty(); }, 10s, 50ms));
  EXPECT_FALSE(seat(1)->leader().self);
  EXPECT_EQ(seat(1)->runtime(), nullptr);
}

TEST_F(Seats, ARemovalThatWouldLoseTheQuorumIsRefused) {
  auto single = ManagerSeat::single(config(1));
  ASSERT_TRUE(single.ok()) << single.error().message();
  seat(1) = std::move(*single);
  auto replicated = seat(1)->replicate();
  ASSERT_TRUE(replicated.ok()) << replicated.error().message();
  join(2, 1);
  join(3, 1);
  ASSERT_TRUE(wait_until([&] { return seat(3)->leader().leader == "n1"; }, 10s, 50ms));

  seat(3).reset();  // down, still a member
  auto refused = seat(1)->remove_member("n2", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("quorum"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(seat(1)->members()->size(), 3u);

  auto removed = seat(1)->remove_member("n3", false);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(seat(1)->members()->size(), 2u);
  EXPECT_NE(seat(1)->runtime(), nullptr);
}

// node ls's MANAGER STATUS: the probes reuse their clients, so a member that comes back must be
// seen answering again through the client kept from before it stopped.
TEST_F(Seats, MemberHealthFollowsAMemberThatStopsAndComesBack) {
  auto single = ManagerSeat::single(config(1));
  ASSERT_TRUE(single.ok()) << single.error().message();
  seat(1) = std::move(*single);
  ASSERT_TRUE(seat(1)->replicate().ok());
  join(2, 1);
  join(3, 1);
  auto answering = [&](const std::string& name) {
    auto health = seat(1)->member_health();
    return health.ok() && health->contains(name) && health->at(name);
  };
  ASSERT_TRUE(wait_until([&] { return answering("n2") && answering("n3"); }, 10s, 50ms));
  EXPECT_EQ(seat(1)->member_health()->size(), 3u);

  seat(3).reset();
  ASSERT_TRUE(wait_until([&] { return !answering("n3"); }, 5s, 50ms));
  EXPECT_TRUE(answering("n2"));

  auto back = ManagerSeat::replicated(config(3));
  ASSERT_TRUE(back.ok()) << back.error().message();
  seat(3) = std::move(*back);
  EXPECT_TRUE(wait_until([&] { return answering("n3"); }, 10s, 100ms));
}

}  // namespace
}  // namespace shoal::testing
