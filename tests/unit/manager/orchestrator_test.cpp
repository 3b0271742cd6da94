// Orchestrator, allocator and scheduler together on one in-memory store, as the manager runs
// them: service create to assigned tasks, scaling, a drained node, a failed task restarted.
#include "control/manager/rules/orchestrator.h"

#include <gtest/gtest.h>

#include <map>

#include "control/manager/rules/allocator.h"
#include "control/manager/rules/scheduler.h"
#include "control/manager/store/memory_store.h"

namespace shoal::manager {
namespace {

class ManagerLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_
                    .update([](WriteTx& tx) -> Status {
                      for (const char* id : {"n1", "n2", "n3"}) {
                        Node node;
                        node.id = id;
                        node.status = NodeStatus::kReady;
                        SHOAL_TRY(tx.create(node));
                      }
                      Network ingress;
                      ingress.id = "ingress";
                      ingress.name = "ingress";
                      ingress.ingress = true;
                      SHOAL_TRY(tx.create(ingress));
                      Service web;
                      web.id = "web";
                      web.spec.name = "web";
                      web.spec.replicas = 3;
                      web.spec.restart.delay = std::chrono::seconds(0);
                      web.spec.ports = {PortConfig{.published = 8080, .target = 80}};
                      return tx.create(web);
                    })
                    .ok());
    auto allocator = Allocator::create(store_);
    ASSERT_TRUE(allocator.ok());
    allocator_ = std::move(allocator).value();
  }

  // One round of the manager's components, in the order their work flows.
  void converge() {
    for (int round = 0; round < 3; ++round) {
      ASSERT_TRUE(orchestrator_.run_once().ok());
      ASSERT_TRUE(allocator_->run_once().ok());
      ASSERT_TRUE(scheduler_.run_once().ok());
    }
  }

  // Live tasks by node.
  std::map<std::string, int> placement() {
    std::map<std::string, int> out;
    store_.view([&](const ReadTx& tx) {
      for (const auto& task : tx.tasks()) {
        if (task.desired <= TaskState::kRunning) {
          EXPECT_EQ(task.observed, TaskState::kAssigned) << task.id;
          ++out[task.node_id];
        }
      }
    });
    return out;
  }

  template <typename Change>
  void change_node(const std::string& id, Change change) {
    ASSERT_TRUE(store_
                    .update([&](WriteTx& tx) {
                      auto node = *tx.get_node(id);
                      change(node);
                      return tx.update(node);
                    })
                    .ok());
  }

  MemoryStore store_;
  IdGenerator ids_;
  Orchestrator orchestrator_{store_, ids_};
  std::unique_ptr<Allocator> allocator_;
  Scheduler scheduler_{store_};
};

TEST_F(ManagerLoop, ServiceCreateEndsWithTasksSpreadAndAddressed) {
  converge();
  EXPECT_EQ(placement(), (std::map<std::string, int>{{"n1", 1}, {"n2", 1}, {"n3", 1}}));
  store_.view([](const ReadTx& tx) {
    for (const auto& task : tx.tasks()) {
      EXPECT_EQ(task.addresses.at("ingress").str().substr(0, 7), "10.0.0.");
    }
  });
}

TEST_F(ManagerLoop, ScaleUpAndDown) {
  converge();
  auto scale = [&](uint64_t replicas) {
    ASSERT_TRUE(store_
                    .update([&](WriteTx& tx) {
                      auto web = *tx.get_service("web");
                      web.spec.replicas = replicas;
                      return tx.update(web);
                    })
                    .ok());
    converge();
  };
  scale(6);
  EXPECT_EQ(placement(), (std::map<std::string, int>{{"n1", 2}, {"n2", 2}, {"n3", 2}}));
  scale(2);
  int live = 0;
  for (const auto& [node, count] : placement()) {
    live += count;
  }
  EXPECT_EQ(live, 2);
}

TEST_F(ManagerLoop, DrainMovesTasksAndFailedTaskIsRestarted) {
  converge();
  change_node("n1", [](Node& node) { node.availability = NodeAvailability::kDrain; });
  converge();
  auto after_drain = placement();
  EXPECT_FALSE(after_drain.contains("n1"));
  EXPECT_EQ(after_drain["n2"] + after_drain["n3"], 3);

  // A running task fails: the agent's report lands in the store, the orchestrator replaces it.
  std::string failed_id;
  ASSERT_TRUE(store_
                  .update([&](WriteTx& tx) -> Status {
                    for (auto& task : tx.tasks()) {
                      if (task.desired == TaskState::kRunning) {
                        failed_id = task.id;
                        SHOAL_TRY(advance(task, TaskState::kFailed, "exit 1"));
                        return tx.update(task);
                      }
                    }
                    return invalid_argument("test", "no running task");
                  })
                  .ok());
  converge();
  int live = 0;
  for (const auto& [node, count] : placement()) {
    live += count;
  }
  EXPECT_EQ(live, 3);
  store_.view(
      [&](const ReadTx& tx) { EXPECT_EQ(tx.get_task(failed_id)->desired, TaskState::kShutdown); });
}

TEST_F(ManagerLoop, NodeDownOrphansAndReschedules) {
  converge();
  change_node("n2", [](Node& node) { node.status = NodeStatus::kDown; });
  converge();
  auto after = placement();
  EXPECT_FALSE(after.contains("n2"));
  EXPECT_EQ(after["n1"] + after["n3"], 3);
  store_.view([](const ReadTx& tx) {
    int orphaned = 0;
    for (const auto& task : tx.tasks()) {
      orphaned += task.observed == TaskState::kOrphaned ? 1 : 0;
    }
    EXPECT_EQ(orphaned, 1);
  });
}

TEST_F(ManagerLoop, DelayedRestartSaysWhenToWake) {
  converge();
  ASSERT_TRUE(store_
                  .update([&](WriteTx& tx) -> Status {
                    auto web = *tx.get_service("web");
                    web.spec.restart.delay = std::chrono::seconds(30);
                    SHOAL_TRY(tx.update(web));
                    auto task = tx.tasks().front();
                    SHOAL_TRY(advance(task, TaskState::kFailed, "exit 1"));
                    return tx.update(task);
                  })
                  .ok());
  auto now = Clock::now();
  auto report = orchestrator_.run_once(now);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->created, 0u);
  ASSERT_TRUE(report->wake_at.has_value());
  auto later = orchestrator_.run_once(*report->wake_at + std::chrono::seconds(1));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->created, 1u);
}

}  // namespace
}  // namespace shoal::manager

namespace shoal::manager {
namespace {

TEST_F(ManagerLoop, ServiceUpdateRollsThroughEveryTask) {
  converge();
  ASSERT_TRUE(store_
                  .update([](WriteTx& tx) {
                    auto web = *tx.get_service("web");
                    web.spec.env = {"COLOR=blue"};
                    ++web.spec_version;
                    return tx.update(web);
                  })
                  .ok());
  // Play the agents: whatever is assigned starts running, whatever is told to stop stops.
  for (int round = 0; round < 10; ++round) {
    converge();
    ASSERT_TRUE(
        store_
            .update([](WriteTx& tx) -> Status {
              for (auto& task : tx.tasks()) {
                if (task.desired == TaskState::kRunning && task.observed == TaskState::kAssigned) {
                  SHOAL_TRY(advance(task, TaskState::kRunning));
                  SHOAL_TRY(tx.update(task));
                } else if (task.desired == TaskState::kShutdown && !is_terminal(task.observed)) {
                  SHOAL_TRY(advance(task, TaskState::kShutdown));
                  SHOAL_TRY(tx.update(task));
                }
              }
              return {};
            })
            .ok());
  }
  store_.view([](const ReadTx& tx) {
    int running = 0;
    for (const auto& task : tx.tasks()) {
      if (task.desired == TaskState::kRunning) {
        ++running;
        EXPECT_EQ(task.observed, TaskState::kRunning);
        EXPECT_EQ(task.spec_version, 1u);
        EXPECT_EQ(task.runtime.env, std::vector<std::string>{"COLOR=blue"});
      }
    }
    EXPECT_EQ(running, 3);
  });
}

TEST_F(ManagerLoop, GlobalServiceRunsOnEveryNodeAndFollowsJoins) {
  ASSERT_TRUE(store_
                  .update([](WriteTx& tx) -> Status {
                    SHOAL_TRY(tx.remove_service("web"));
                    Service agent;
                    agent.id = "agent";
                    agent.spec.name = "agent";
                    agent.spec.global = true;
                    return tx.create(agent);
                  })
                  .ok());
  converge();
  EXPECT_EQ(placement(), (std::map<std::string, int>{{"n1", 1}, {"n2", 1}, {"n3", 1}}));
  ASSERT_TRUE(store_
                  .update([](WriteTx& tx) {
                    Node node;
                    node.id = "n4";
                    node.status = NodeStatus::kReady;
                    return tx.create(node);
                  })
                  .ok());
  change_node("n2", [](Node& node) { node.availability = NodeAvailability::kDrain; });
  converge();
  EXPECT_EQ(placement(), (std::map<std::string, int>{{"n1", 1}, {"n3", 1}, {"n4", 1}}));
}

}  // namespace
}  // namespace shoal::manager
