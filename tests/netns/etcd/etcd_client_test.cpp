// The etcd client and member against real etcd: reads, transactions, leases, membership, TLS
// restricted to managers, failing fast without a quorum, and the member's supervision.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "control/etcd/client.h"
#include "tests/netns/etcd/etcd_cluster.h"
#include "tests/support/wait.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;

const auto* const kNetwork = ::testing::AddGlobalTestEnvironment(new PrivateNetwork);

TEST(EtcdPrefix, EndIsTheNextKeyAfterEveryKeyWithThePrefix) {
  EXPECT_EQ(etcd::prefix_end("/shoal/"), "/shoal0");
  EXPECT_EQ(etcd::prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(etcd::prefix_end(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdMember, CommandLineRestrictsPeersAndClientsToManagerCertificates) {
  etcd::MemberConfig config{.name = "n1", .dir = "/d", .peer_ip = "10.0.0.1"};
  auto argv = etcd::Member::command_line(config);
  auto has = [&](const std::string& flag, const std::string& value) {
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == flag && argv[i + 1] == value)
        return true;
    }
    return false;
  };
  EXPECT_TRUE(has("--client-cert-allowed-hostname", "swarm-manager"));
  EXPECT_TRUE(has("--peer-cert-allowed-hostname", "swarm-manager"));
  EXPECT_TRUE(has("--listen-client-urls", "https://10.0.0.1:2379"));
  EXPECT_TRUE(has("--initial-cluster", "n1=https://10.0.0.1:2380"));
  EXPECT_TRUE(has("--initial-cluster-state", "new"));
}

TEST(EtcdClient, ReadsWritesAndComparesOnOneMember) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  ASSERT_TRUE(client->put("/p/a", "1").ok());
  ASSERT_TRUE(client->put("/p/b", "2").ok());
  ASSERT_TRUE(client->put("/q", "3").ok());

  auto rows = client->get_prefix("/p/");
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].key, "/p/a");
  EXPECT_EQ((*rows)[1].value, "2");

  auto a = client->get("/p/a");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  const int64_t created = (*a)->create_revision;

  // The compare holds: the put applies.
  auto applied = client->commit(etcd::Txn().if_created_at("/p/a", created).put("/p/a", "10"));
  ASSERT_TRUE(applied.ok());
  EXPECT_TRUE(applied->succeeded);
  // It does not: nothing applies, and the otherwise branch reads.
  auto refused =
      client->commit(etcd::Txn().if_value("/p/b", "nope").put("/p/b", "20").otherwise_get("/p/b"));
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->succeeded);
  ASSERT_EQ(refused->gets.size(), 1u);
  ASSERT_TRUE(refused->gets[0].has_value());
  EXPECT_EQ(refused->gets[0]->value, "2");

  auto erased = client->commit(etcd::Txn().erase("/p/a"));
  ASSERT_TRUE(erased.ok());
  auto gone = client->get("/p/a");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST(EtcdClient, KeysOfARevokedLeaseVanish) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  auto lease = client->grant_lease(5s);
  ASSERT_TRUE(lease.ok()) << lease.error().message();
  ASSERT_TRUE(client->put("/leased", "x", *lease).ok());
  auto ttl = client->keep_alive(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.error().message();
  EXPECT_GT(ttl->count(), 0);
  ASSERT_TRUE(client->revoke_lease(*lease).ok());
  auto gone = client->get("/leased");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto expired = client->keep_alive(*lease);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->count(), 0);
}

TEST(EtcdClient, AWorkerCertificateIsRefused) {
  auto cluster = EtcdCluster::start(1);
  auto worker = etcd::Client::create(cluster->member(1).client_endpoint(),
                                     cluster->certificates().worker("w1", "127.0.0.1"));
  auto read = worker->get("/anything");
  ASSERT_FALSE(read.ok());
  auto manager = cluster->client(1);
  EXPECT_TRUE(manager->get("/anything").ok());
}

// etcd refuses a request whose auth revision changed between its arrival and its apply ("revision
// of auth store is old"); managers' users are added and removed while the swarm writes.
TEST(EtcdClient, WritesGoOnWhileManagersUsersChange) {
  auto cluster = EtcdCluster::start(1);
  auto admin = cluster->client(1);
  ASSERT_TRUE(admin->add_root_user("root").ok());
  ASSERT_TRUE(admin->add_root_user("m1").ok());
  ASSERT_TRUE(admin->enable_auth().ok());
  std::atomic<bool> churning{true};
  std::thread churn([&] {
    // A promotion and a demotion every 100 ms: far more often than a swarm ever changes.
    for (int i = 0; i < 15; ++i) {
      EXPECT_TRUE(admin->add_root_user("manager-" + std::to_string(i)).ok());
      EXPECT_TRUE(admin->delete_user("manager-" + std::to_string(i)).ok());
      std::this_thread::sleep_for(100ms);
    }
    churning = false;
  });
  auto writer = cluster->client(1);
  int writes = 0;
  std::vector<std::string> failures;
  while (churning) {
    auto put = writer->put("/k", std::to_string(writes++));
    if (!put.ok())
      failures.push_back(put.error().message());
    auto read = writer->get("/k");
    if (!read.ok())
      failures.push_back(read.error().message());
  }
  churn.join();
  EXPECT_GT(writes, 30);
  ASSERT_TRUE(failures.empty()) << failures.size() << " of " << writes
                                << " writes failed, first: " << failures.at(0);
}

TEST(EtcdClient, ThreeMembersListedAndAMinorityDownChangesNothing) {
  auto cluster = EtcdCluster::start(3);
  auto members = cluster->client(1)->members();
  ASSERT_TRUE(members.ok()) << members.error().message();
  EXPECT_EQ(members->size(), 3u);

  cluster->member(3).stop();
  auto client = cluster->client(1);
  EXPECT_TRUE(client->put("/k", "v").ok());
  auto other = cluster->client(2)->get("/k");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->has_value());
  EXPECT_EQ((*other)->value, "v");
}

TEST(EtcdClient, WithoutAQuorumCallsFailFastSayingSo) {
  auto cluster = EtcdCluster::start(3);
  auto client = cluster->client(1);
  ASSERT_TRUE(client->put("/k", "v").ok());
  cluster->member(2).stop();
  cluster->member(3).stop();
  const auto started = std::chrono::steady_clock::now();
  auto write = client->put("/k", "w");
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(write.ok());
  EXPECT_TRUE(etcd::is_no_quorum(write.error())) << write.error().message();
  EXPECT_LT(took, 2s);
}

TEST(EtcdMember, AMissingEtcdBinaryIsNamed) {
  char tmpl[] = "/tmp/shoal-etcd-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  auto certs = make_certificates();
  etcd::MemberConfig config{.name = "m1",
                            .dir = std::string(tmpl) + "/m1",
                            .peer_ip = "127.0.0.1",
                            .tls = certs.manager("m1", "127.0.0.1"),
                            .binary = "/nonexistent/etcd"};
  auto member = etcd::Member::start(config);
  ASSERT_TRUE(member.ok()) << member.error().message();
  auto serving = (*member)->wait_serving(3s);
  ASSERT_FALSE(serving.ok());
  EXPECT_NE(serving.error().message().find("cannot execute etcd"), std::string::npos)
      << serving.error().message();
  member->reset();
  std::filesystem::remove_all(tmpl);
}

TEST(EtcdMember, AKilledMemberIsRestartedAndServesAgain) {
  auto cluster = EtcdCluster::start(1);
  ASSERT_TRUE(cluster->client(1)->put("/k", "v").ok());
  const pid_t first = cluster->member(1).pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return cluster->member(1).starts() == 2; }, 5s));
  ASSERT_TRUE(cluster->member(1).wait_serving(20s).ok());
  auto kept = cluster->client(1)->get("/k");
  ASSERT_TRUE(kept.ok()) << kept.error().message();
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->value, "v");
}

TEST(EtcdMember, AMemberAddedToARunningClusterJoinsIt) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  ASSERT_TRUE(client->put("/k", "v").ok());
  auto added = client->add_member(etcd::peer_url(EtcdCluster::ip(2), 2380));
  ASSERT_TRUE(added.ok()) << added.error().message();
  auto config = cluster->config(2, 2);
  config.join_existing = true;
  auto second = etcd::Member::start(config);
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE((*second)->wait_serving(20s).ok());
  auto copied = (*second)->client()->get("/k");
  ASSERT_TRUE(copied.ok()) << copied.error().message();
  ASSERT_TRUE(copied->has_value());
  EXPECT_EQ((*copied)->value, "v");
  auto members = client->members();
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->size(), 2u);
  // Removed while it runs (two members need both for a quorum), the first serves on its own.
  // etcd refuses ("unhealthy cluster") until the new member has been connected a few seconds.
  Status removed = client->remove_member(added->id);
  for (int i = 0; i < 30 && !removed.ok(); ++i) {
    std::this_thread::sleep_for(500ms);
    removed = client->remove_member(added->id);
  }
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  (*second)->stop();
  auto alone = client->put("/k", "w");
  EXPECT_TRUE(alone.ok()) << alone.error().message();
}

}  // namespace
}  // namespace shoal::testing
