// The store contract, run against every implementation: transactions are all-or-nothing,
// versions refuse stale writes, and watchers hear about a commit only after it happened.
#include <gtest/gtest.h>

#include "tests/unit/manager/store_fixtures.h"

namespace shoal::manager {
namespace {

template <typename Factory>
class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(factory_.make()) {}
  Factory factory_;
  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreTest);

Node make_node(std::string id, std::string hostname) {
  Node node;
  node.id = std::move(id);
  node.hostname = std::move(hostname);
  return node;
}

TYPED_TEST_P(StoreTest, CommitMakesWritesVisibleWithVersions) {
  ASSERT_TRUE(this->store_
                  ->update([](WriteTx& tx) -> Status {
                    SHOAL_TRY(tx.create(make_node("n1", "h1")));
                    return tx.create(make_node("n2", "h2"));
                  })
                  .ok());
  this->store_->view([](const ReadTx& tx) {
    auto nodes = tx.nodes();
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(nodes[0].hostname, "h1");
    EXPECT_EQ(nodes[1].id, "n2");
    EXPECT_EQ(nodes[0].version, nodes[1].version);  // one commit, one index
    EXPECT_GT(nodes[0].version, 0u);
  });
}

TYPED_TEST_P(StoreTest, FailedTransactionChangesNothing) {
  ASSERT_TRUE(
      this->store_->update([](WriteTx& tx) -> Status { return tx.create(make_node("n1", "h1")); })
          .ok());
  auto status = this->store_->update([](WriteTx& tx) -> Status {
    SHOAL_TRY(tx.create(make_node("n2", "h2")));
    auto seen = tx.get_node("n2");  // a transaction reads its own writes
    EXPECT_TRUE(seen.has_value());
    SHOAL_TRY(tx.remove_node("n1"));
    return tx.create(make_node("n2", "again"));  // refused: already staged
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "invalid node n2: already exists");
  this->store_->view([](const ReadTx& tx) {
    EXPECT_TRUE(tx.get_node("n1").has_value());
    EXPECT_FALSE(tx.get_node("n2").has_value());
  });
}

TYPED_TEST_P(StoreTest, WriterErrorRollsBack) {
  auto status = this->store_->update([](WriteTx& tx) -> Status {
    SHOAL_TRY(tx.create(make_node("n1", "h1")));
    return invalid_argument("test", "changed my mind");
  });
  EXPECT_EQ(status.error().message(), "invalid test: changed my mind");
  this->store_->view([](const ReadTx& tx) { EXPECT_TRUE(tx.nodes().empty()); });
}

TYPED_TEST_P(StoreTest, StaleUpdateIsRefused) {
  ASSERT_TRUE(
      this->store_->update([](WriteTx& tx) -> Status { return tx.create(make_node("n1", "h1")); })
          .ok());
  Node read;
  this->store_->view([&](const ReadTx& tx) { read = *tx.get_node("n1"); });
  Node first = read;
  first.hostname = "first";
  ASSERT_TRUE(this->store_->update([&](WriteTx& tx) -> Status { return tx.update(first); }).ok());
  Node second = read;  // still the old version
  second.hostname = "second";
  auto status = this->store_->update([&](WriteTx& tx) -> Status { return tx.update(second); });
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("invalid node n1: update from version"),
            std::string::npos);
  this->store_->view([](const ReadTx& tx) { EXPECT_EQ(tx.get_node("n1")->hostname, "first"); });
}

TYPED_TEST_P(StoreTest, MissingObjectsAndEmptyIdsAreErrors) {
  auto update =
      this->store_->update([](WriteTx& tx) -> Status { return tx.update(make_node("x", "h")); });
  EXPECT_EQ(update.error().message(), "invalid node x: does not exist");
  auto remove = this->store_->update([](WriteTx& tx) -> Status { return tx.remove_task("t9"); });
  EXPECT_EQ(remove.error().message(), "invalid task t9: does not exist");
  auto empty = this->store_->update([](WriteTx& tx) -> Status { return tx.create(Service{}); });
  EXPECT_EQ(empty.error().message(), "invalid service: an object needs an id");
}

TYPED_TEST_P(StoreTest, WatchersHearCommitsOnlyAfterTheyHappen) {
  std::vector<std::vector<Event>> heard;
  auto id = this->store_->watch([&](const std::vector<Event>& events) {
    // By the time a watcher runs, the commit is visible to readers.
    this->store_->view([&](const ReadTx& tx) {
      for (const auto& event : events) {
        EXPECT_EQ(tx.get_node(object_id(event.object)).has_value(),
                  event.action != EventAction::kRemove);
      }
    });
    heard.push_back(events);
  });
  ASSERT_TRUE(
      this->store_->update([](WriteTx& tx) -> Status { return tx.create(make_node("n1", "h1")); })
          .ok());
  EXPECT_FALSE(this->store_
                   ->update([](WriteTx& tx) -> Status {
                     SHOAL_TRY(tx.create(make_node("n2", "h2")));
                     return invalid_argument("test", "abort");
                   })
                   .ok());
  ASSERT_TRUE(this->store_
                  ->update([](WriteTx& tx) -> Status {
                    auto node = *tx.get_node("n1");
                    node.availability = NodeAvailability::kDrain;
                    SHOAL_TRY(tx.update(node));
                    SHOAL_TRY(tx.create(make_node("n3", "h3")));
                    return tx.remove_node("n3");  // created and removed: no event
                  })
                  .ok());
  ASSERT_TRUE(
      this->store_->update([](WriteTx& tx) -> Status { return tx.remove_node("n1"); }).ok());
  ASSERT_EQ(heard.size(), 3u);  // the aborted transaction said nothing
  ASSERT_EQ(heard[0].size(), 1u);
  EXPECT_EQ(heard[0][0].action, EventAction::kCreate);
  ASSERT_EQ(heard[1].size(), 1u);
  EXPECT_EQ(heard[1][0].action, EventAction::kUpdate);
  EXPECT_EQ(std::get<Node>(heard[1][0].object).availability, NodeAvailability::kDrain);
  EXPECT_EQ(heard[2][0].action, EventAction::kRemove);
  EXPECT_EQ(std::get<Node>(heard[2][0].object).hostname, "h1");

  this->store_->unwatch(id);
  ASSERT_TRUE(
      this->store_->update([](WriteTx& tx) -> Status { return tx.create(make_node("n4", "h4")); })
          .ok());
  EXPECT_EQ(heard.size(), 3u);
}

TYPED_TEST_P(StoreTest, WatcherMayWriteAndEventsStayInOrder) {
  std::vector<std::string> order;
  this->store_->watch([&](const std::vector<Event>& events) {
    for (const auto& event : events) {
      order.push_back(object_id(event.object));
      if (object_id(event.object) == "n1") {
        ASSERT_TRUE(
            this->store_
                ->update([](WriteTx& tx) -> Status { return tx.create(make_node("n2", "h2")); })
                .ok());
        order.push_back("wrote n2");
      }
    }
  });
  ASSERT_TRUE(
      this->store_->update([](WriteTx& tx) -> Status { return tx.create(make_node("n1", "h1")); })
          .ok());
  EXPECT_EQ(order, (std::vector<std::string>{"n1", "wrote n2", "n2"}));
}

TYPED_TEST_P(StoreTest, HoldsEveryKindWithItsFields) {
  Network network;
  network.id = "net1";
  network.name = "app";
  network.vni = 4097;
  network.subnet = *Ipv4Prefix::parse("10.0.1.0/24");
  network.gateway = *Ipv4::parse("10.0.1.1");
  network.attachable = true;
  Service service;
  service.id = "s1";
  service.spec.name = "web";
  service.spec.command = {"sleep", "100"};
  service.spec.env = {"A=1"};
  service.spec.replicas = 3;
  service.spec.networks = {"net1"};
  service.spec.ports.push_back(PortConfig{
      .published = 8080, .target = 80, .protocol = Protocol::kUdp, .mode = PublishMode::kHost});
  service.spec.constraints = {"node.role==manager"};
  service.spec.restart.condition = RestartCondition::kOnFailure;
  service.spec.restart.delay = std::chrono::milliseconds(1500);
  service.spec.restart.max_attempts = 4;
  service.spec.max_replicas_per_node = 2;
  service.endpoint.vips["net1"] = *Ipv4Prefix::parse("10.0.1.2/24");
  Task task;
  task.id = "t1";
  task.service_id = "s1";
  task.slot = 2;
  task.node_id = "n1";
  task.addresses["net1"] = *Ipv4Prefix::parse("10.0.1.3/24");
  task.attempt = 1;
  task.runtime.command = {"/bin/echo"};
  task.runtime.env = {"X=1"};
  task.runtime.stop_grace_period = std::chrono::milliseconds(2500);
  task.spec_version = 7;
  service.spec_version = 7;
  ASSERT_TRUE(advance(task, TaskState::kFailed, "exit 2").ok());
  ASSERT_TRUE(this->store_
                  ->update([&](WriteTx& tx) -> Status {
                    SHOAL_TRY(tx.create(network));
                    SHOAL_TRY(tx.create(service));
                    return tx.create(task);
                  })
                  .ok());
  this->store_ = this->factory_.reopen(std::move(this->store_));
  this->store_->view([&](const ReadTx& tx) {
    auto n = *tx.network_by_name("app");
    EXPECT_EQ(n.vni, 4097u);
    EXPECT_EQ(n.subnet->str(), "10.0.1.0/24");
    EXPECT_EQ(n.gateway->str(), "10.0.1.1");
    EXPECT_TRUE(n.attachable);
    auto s = *tx.service_by_name("web");
    EXPECT_EQ(s.spec.command, service.spec.command);
    EXPECT_EQ(s.spec.ports, service.spec.ports);
    EXPECT_EQ(s.spec.restart.delay, service.spec.restart.delay);
    EXPECT_EQ(s.spec.restart.max_attempts, 4u);
    EXPECT_EQ(s.spec.max_replicas_per_node, 2u);
    EXPECT_EQ(s.endpoint.vips.at("net1").str(), "10.0.1.2/24");
    auto tasks = tx.tasks_of_service("s1");
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].observed, TaskState::kFailed);
    EXPECT_EQ(tasks[0].history.back().message, "exit 2");
    EXPECT_EQ(tasks[0].addresses.at("net1").str(), "10.0.1.3/24");
    EXPECT_EQ(tasks[0].slot, 2u);
    EXPECT_EQ(tasks[0].attempt, 1u);
    EXPECT_EQ(tasks[0].runtime, task.runtime);
    EXPECT_EQ(tasks[0].spec_version, 7u);
    EXPECT_EQ(s.spec_version, 7u);
    ASSERT_TRUE(tasks[0].ended_at.has_value());
    EXPECT_EQ(*tasks[0].ended_at, *task.ended_at);
  });
}

REGISTER_TYPED_TEST_SUITE_P(StoreTest, CommitMakesWritesVisibleWithVersions,
                            FailedTransactionChangesNothing, WriterErrorRollsBack,
                            StaleUpdateIsRefused, MissingObjectsAndEmptyIdsAreErrors,
                            WatchersHearCommitsOnlyAfterTheyHappen,
                            WatcherMayWriteAndEventsStayInOrder, HoldsEveryKindWithItsFields);
INSTANTIATE_TYPED_TEST_SUITE_P(Stores, StoreTest, StoreFactories);

}  // namespace
}  // namespace shoal::manager
