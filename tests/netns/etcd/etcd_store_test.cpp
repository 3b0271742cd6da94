// The fenced etcd store against a real etcd: the copy from the one-manager store, commits seen
// by a store reopened elsewhere, and writes refused to a former leader or after a foreign write.
#include <gtest/gtest.h>

#include "control/etcd/etcd_store.h"
#include "control/manager/store/memory_store.h"
#include "tests/netns/etcd/etcd_cluster.h"

namespace shoal::testing {
namespace {

using etcd::EtcdStore;
using manager::Network;
using manager::Service;

const std::string kPrefix = "/shoal/store/";
const std::string kLeaderKey = "/shoal/leader";

// Takes the leadership key as an election winner would; returns its fence.
etcd::Fence lead(etcd::Client& client, const std::string& who) {
  auto result = client.commit(etcd::Txn().put(kLeaderKey, who));
  EXPECT_TRUE(result.ok());
  auto kv = client.get(kLeaderKey);
  EXPECT_TRUE(kv.ok() && kv->has_value());
  return etcd::Fence{.key = kLeaderKey, .create_revision = (*kv)->create_revision};
}

Status create_service(manager::Store& store, const std::string& id, const std::string& name) {
  return store.update([&](manager::WriteTx& tx) {
    Service service;
    service.id = id;
    service.spec.name = name;
    return tx.create(service);
  });
}

std::vector<std::string> service_names(const manager::Store& store) {
  std::vector<std::string> names;
  store.view([&](const manager::ReadTx& tx) {
    for (const auto& service : tx.services())
      names.push_back(service.spec.name);
  });
  return names;
}

TEST(EtcdStore, SeedCopiesTheStoreAndAReopenedStoreSeesEveryCommit) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  auto fence = lead(*client, "n1");

  manager::MemoryStore local;
  ASSERT_TRUE(create_service(local, "s1", "web").ok());
  ASSERT_TRUE(local
                  .update([](manager::WriteTx& tx) {
                    Network network;
                    network.id = "net1";
                    network.name = "app";
                    return tx.create(network);
                  })
                  .ok());
  ASSERT_TRUE(EtcdStore::seed(*client, kPrefix, fence, local, local.index()).ok());
  // A second copy is refused: the store moves once.
  auto again = EtcdStore::seed(*client, kPrefix, fence, local, local.index());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("already holds a store"), std::string::npos);

  auto store = EtcdStore::open(*client, kPrefix, fence);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ((*store)->index(), local.index());
  EXPECT_EQ(service_names(**store), std::vector<std::string>{"web"});

  ASSERT_TRUE(create_service(**store, "s2", "api").ok());
  ASSERT_TRUE((*store)->update([](manager::WriteTx& tx) { return tx.remove_service("s1"); }).ok());

  auto reopened = EtcdStore::open(*cluster->client(1), kPrefix, fence);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(service_names(**reopened), std::vector<std::string>{"api"});
  EXPECT_EQ((*reopened)->index(), (*store)->index());
  bool has_network = false;
  (*reopened)->view(
      [&](const manager::ReadTx& tx) { has_network = tx.get_network("net1").has_value(); });
  EXPECT_TRUE(has_network);
}

TEST(EtcdStore, AFormerLeaderCannotWrite) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  auto old_fence = lead(*client, "n1");
  auto store = EtcdStore::open(*client, kPrefix, old_fence);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(create_service(**store, "s1", "web").ok());

  // Another manager won meanwhile: the key was deleted and created again.
  ASSERT_TRUE(client->commit(etcd::Txn().erase(kLeaderKey)).ok());
  lead(*client, "n2");

  auto refused = create_service(**store, "s2", "api");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("no longer the leader"), std::string::npos)
      << refused.error().message();
  // Nothing of it reached etcd or memory.
  EXPECT_EQ(service_names(**store), std::vector<std::string>{"web"});
  auto rows = client->get_prefix(kPrefix + "objects/service/");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
}

TEST(EtcdStore, AForeignWriteMakesTheStoreRefuseUntilReopened) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  auto fence = lead(*client, "n1");
  auto store = EtcdStore::open(*client, kPrefix, fence);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(create_service(**store, "s1", "web").ok());
  ASSERT_TRUE(client->put(etcd::index_key(kPrefix), "99/deadbeef").ok());

  auto refused = create_service(**store, "s2", "api");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("must be reloaded"), std::string::npos);
  EXPECT_TRUE((*store)->diverged());
  auto reopened = EtcdStore::open(*client, kPrefix, fence);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->index(), 99u);
  EXPECT_TRUE(create_service(**reopened, "s2", "api").ok());
}

TEST(EtcdStore, WithoutAQuorumAWriteFailsFastAndChangesNothing) {
  auto cluster = EtcdCluster::start(3);
  auto client = cluster->client(1);
  auto fence = lead(*client, "n1");
  auto store = EtcdStore::open(*client, kPrefix, fence);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(create_service(**store, "s1", "web").ok());
  cluster->member(2).stop();
  cluster->member(3).stop();
  auto failed = create_service(**store, "s2", "api");
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(etcd::is_no_quorum(failed.error())) << failed.error().message();
  EXPECT_EQ(service_names(**store), std::vector<std::string>{"web"});
}

TEST(EtcdStore, AnUnreadableObjectIsNamed) {
  auto cluster = EtcdCluster::start(1);
  auto client = cluster->client(1);
  auto fence = lead(*client, "n1");
  ASSERT_TRUE(client->put(etcd::object_key(kPrefix, "service", "s1"), "{not json").ok());
  auto store = EtcdStore::open(*client, kPrefix, fence);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("objects/service/s1"), std::string::npos)
      << store.error().message();
}

}  // namespace
}  // namespace shoal::testing
