// The allocator component against a store: allocation in one pass, tasks NEW -> PENDING,
// release on removal, and a restarted allocator that rebuilds and never gives an address twice.
#include <gtest/gtest.h>

#include <set>

#include "control/manager/rules/allocator.h"
#include "control/manager/store/memory_store.h"

namespace shoal::manager {
namespace {

Task new_task(std::string id, std::string service_id) {
  Task task;
  task.id = std::move(id);
  task.service_id = std::move(service_id);
  return task;
}

class AllocatorLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_
                    .update([](WriteTx& tx) -> Status {
                      Network app;
                      app.id = "a";  // sorts before the ingress network: ingress still goes first
                      app.name = "app";
                      SHOAL_TRY(tx.create(app));
                      Network ingress;
                      ingress.id = "z";
                      ingress.name = "ingress";
                      ingress.ingress = true;
                      SHOAL_TRY(tx.create(ingress));
                      Service web;
                      web.id = "s1";
                      web.spec.name = "web";
                      web.spec.networks = {"a"};
                      web.spec.ports = {PortConfig{.published = 8080, .target = 80}};
                      SHOAL_TRY(tx.create(web));
                      SHOAL_TRY(tx.create(new_task("t1", "s1")));
                      return tx.create(new_task("t2", "s1"));
                    })
                    .ok());
  }
  std::set<std::string> addresses_in_use() {
    std::set<std::string> out;
    store_.view([&](const ReadTx& tx) {
      for (const auto& task : tx.tasks()) {
        for (const auto& [network, address] : task.addresses) {
          out.insert(address.str());
        }
      }
    });
    return out;
  }
  MemoryStore store_;
};

TEST_F(AllocatorLoop, AllocatesEverythingAndMovesTasksToPending) {
  auto allocator = Allocator::create(store_);
  ASSERT_TRUE(allocator.ok());
  auto report = (*allocator)->run_once();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->networks, 2u);
  EXPECT_EQ(report->services, 1u);
  EXPECT_EQ(report->tasks, 2u);
  EXPECT_TRUE(report->problems.empty());
  store_.view([](const ReadTx& tx) {
    EXPECT_EQ(tx.get_network("z")->subnet->str(), "10.0.0.0/24");
    EXPECT_EQ(tx.get_network("a")->subnet->str(), "10.0.1.0/24");
    EXPECT_TRUE(tx.get_service("s1")->allocated);
    auto task = *tx.get_task("t1");
    EXPECT_EQ(task.observed, TaskState::kPending);
    EXPECT_EQ(task.addresses.size(), 2u);  // app and ingress
  });
  auto again = (*allocator)->run_once();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks + again->services + again->networks, 0u);  // nothing left to do
}

TEST_F(AllocatorLoop, RestartRebuildsAndNeverDoublesAnAddress) {
  {
    auto first = Allocator::create(store_);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE((*first)->run_once().ok());
  }
  auto before = addresses_in_use();
  ASSERT_EQ(before.size(), 4u);
  ASSERT_TRUE(store_.update([](WriteTx& tx) { return tx.create(new_task("t3", "s1")); }).ok());
  auto restarted = Allocator::create(store_);  // a manager restart: state from the store only
  ASSERT_TRUE(restarted.ok());
  EXPECT_TRUE((*restarted)->state().pool("a")->in_use(*Ipv4::parse("10.0.1.3")));
  ASSERT_TRUE((*restarted)->run_once().ok());
  auto after = addresses_in_use();
  EXPECT_EQ(after.size(), 6u);  // two new, distinct addresses
  // The published port is still held too: a second service cannot take 8080.
  ASSERT_TRUE(store_
                  .update([](WriteTx& tx) {
                    Service api;
                    api.id = "s2";
                    api.spec.name = "api";
                    api.spec.ports = {PortConfig{.published = 8080, .target = 80}};
                    return tx.create(api);
                  })
                  .ok());
  auto report = (*restarted)->run_once();
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].message(),
            "invalid service api: port 8080/tcp is already in use by service web");
}

TEST_F(AllocatorLoop, RemovedAndFinishedTasksGiveTheirAddressesBack) {
  auto allocator = Allocator::create(store_);
  ASSERT_TRUE(allocator.ok());
  ASSERT_TRUE((*allocator)->run_once().ok());
  Task t1;
  store_.view([&](const ReadTx& tx) { t1 = *tx.get_task("t1"); });
  auto t1_app = t1.addresses.at("a").addr();
  ASSERT_TRUE(store_.update([](WriteTx& tx) { return tx.remove_task("t2"); }).ok());
  ASSERT_TRUE(advance(t1, TaskState::kFailed, "exit 1").ok());
  ASSERT_TRUE(store_.update([&](WriteTx& tx) { return tx.update(t1); }).ok());
  ASSERT_TRUE((*allocator)->run_once().ok());
  EXPECT_FALSE((*allocator)->state().pool("a")->in_use(t1_app));
  EXPECT_FALSE((*allocator)->state().holds_task("t2"));
  EXPECT_TRUE((*allocator)->state().pool("a")->in_use(*Ipv4::parse("10.0.1.2")));  // the VIP
}

}  // namespace
}  // namespace shoal::manager

namespace shoal::manager {
namespace {

TEST_F(AllocatorLoop, EveryNodeGetsOneIngressAddressKeptAcrossARestartAndFreedOnRemoval) {
  ASSERT_TRUE(store_
                  .update([](WriteTx& tx) -> Status {
                    Node node;
                    node.id = "n1";
                    node.hostname = "h1";
                    return tx.create(node);
                  })
                  .ok());
  auto allocator = Allocator::create(store_);
  ASSERT_TRUE(allocator.ok());
  auto report = (*allocator)->run_once();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->nodes, 1u);
  std::optional<Ipv4Prefix> node_addr;
  store_.view([&](const ReadTx& tx) { node_addr = tx.get_node("n1")->ingress_addr; });
  ASSERT_TRUE(node_addr.has_value());
  auto in_use = addresses_in_use();
  EXPECT_FALSE(in_use.contains(node_addr->str())) << "a task got the node's address";

  // A restarted allocator claims it again: a new task never gets it.
  allocator->reset();
  auto restarted = Allocator::create(store_);
  ASSERT_TRUE(restarted.ok());
  ASSERT_TRUE(store_.update([](WriteTx& tx) { return tx.create(new_task("t3", "s1")); }).ok());
  ASSERT_TRUE((*restarted)->run_once().ok());
  EXPECT_FALSE(addresses_in_use().contains(node_addr->str()));
  std::optional<Ipv4Prefix> after;
  store_.view([&](const ReadTx& tx) { after = tx.get_node("n1")->ingress_addr; });
  EXPECT_EQ(after, node_addr);

  const auto* ingress = (*restarted)->state().pool("z");
  ASSERT_NE(ingress, nullptr);
  EXPECT_TRUE(ingress->in_use(node_addr->addr()));

  // Removing the node frees its address; the next node gets one of its own.
  ASSERT_TRUE(store_.update([](WriteTx& tx) { return tx.remove_node("n1"); }).ok());
  ASSERT_TRUE(store_
                  .update([](WriteTx& tx) -> Status {
                    Node node;
                    node.id = "n2";
                    return tx.create(node);
                  })
                  .ok());
  ASSERT_TRUE((*restarted)->run_once().ok());
  std::optional<Ipv4Prefix> second;
  store_.view([&](const ReadTx& tx) { second = tx.get_node("n2")->ingress_addr; });
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(ingress->in_use(node_addr->addr()));
  EXPECT_TRUE(ingress->in_use(second->addr()));
}

}  // namespace
}  // namespace shoal::manager
