// The orchestrator's pure decisions: scale, restart policies, drain, node down, global services
// following nodes, history.
#include "control/manager/rules/reconcile.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace shoal::manager {
namespace {

using std::chrono::seconds;

class Reconcile : public ::testing::Test {
 protected:
  Reconcile() : ids_([this] { return counter_++; }) {
    service_.id = "s";
    service_.spec.name = "web";
    service_.spec.restart.delay = seconds(0);
    for (const char* id : {"n1", "n2", "n3"}) {
      Node node;
      node.id = id;
      node.status = NodeStatus::kReady;
      nodes_.push_back(node);
    }
  }
  NodeIndex index() const {
    NodeIndex out;
    for (const auto& node : nodes_) {
      out.emplace(node.id, &node);
    }
    return out;
  }
  Task task(std::string id, uint64_t slot, TaskState observed, std::string node = "n1") {
    Task t;
    t.id = std::move(id);
    t.service_id = "s";
    t.slot = slot;
    t.node_id = std::move(node);
    if (observed != TaskState::kNew) {
      EXPECT_TRUE(advance(t, observed, {}, t0_).ok());
    }
    return t;
  }
  Decisions replicated(const std::vector<Task>& tasks, TimePoint now) {
    return reconcile_replicated(service_, tasks, index(), now, config_, ids_);
  }
  Decisions global(const std::vector<Task>& tasks, TimePoint now) {
    return reconcile_global(service_, tasks, nodes_, now, config_, ids_);
  }
  static std::vector<uint64_t> slots(const std::vector<Task>& tasks) {
    std::vector<uint64_t> out;
    for (const auto& t : tasks) {
      out.push_back(t.slot);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  uint64_t counter_ = 1;
  IdGenerator ids_;
  Service service_;
  std::vector<Node> nodes_;
  OrchestratorConfig config_;
  TimePoint t0_ = TimePoint{} + seconds(1000);
};

TEST_F(Reconcile, ScaleUpFillsSlotsFromOne) {
  service_.spec.replicas = 3;
  auto decisions = replicated({task("a", 2, TaskState::kRunning)}, t0_);
  ASSERT_EQ(decisions.create.size(), 2u);
  EXPECT_EQ(slots(decisions.create), (std::vector<uint64_t>{1, 3}));
  for (const auto& t : decisions.create) {
    EXPECT_EQ(t.observed, TaskState::kNew);
    EXPECT_EQ(t.desired, TaskState::kRunning);
    EXPECT_EQ(t.service_id, "s");
    EXPECT_TRUE(is_valid_id(t.id));
    EXPECT_TRUE(t.node_id.empty());
  }
  EXPECT_TRUE(decisions.update.empty());
  // Converged: nothing more to do.
  std::vector<Task> all = {task("a", 2, TaskState::kRunning), task("b", 1, TaskState::kRunning),
                           task("c", 3, TaskState::kRunning)};
  EXPECT_TRUE(replicated(all, t0_).empty());
}

TEST_F(Reconcile, ScaleDownShutsDownHighestSlotsFirst) {
  service_.spec.replicas = 2;
  std::vector<Task> tasks;
  for (uint64_t slot = 1; slot <= 5; ++slot) {
    tasks.push_back(task("t" + std::to_string(slot), slot, TaskState::kRunning));
  }
  tasks[4] = task("t5", 5, TaskState::kPending, "");  // never scheduled
  auto decisions = replicated(tasks, t0_);
  EXPECT_TRUE(decisions.create.empty());
  ASSERT_EQ(decisions.update.size(), 3u);
  EXPECT_EQ(slots(decisions.update), (std::vector<uint64_t>{3, 4, 5}));
  for (const auto& t : decisions.update) {
    EXPECT_EQ(t.desired, TaskState::kShutdown);
    // The agent stops a running task; an unscheduled one is shut down here.
    EXPECT_EQ(t.observed, t.slot == 5 ? TaskState::kShutdown : TaskState::kRunning);
  }
}

TEST_F(Reconcile, RestartAnyReplacesInTheSameSlot) {
  service_.spec.replicas = 1;
  auto decisions = replicated({task("a", 1, TaskState::kComplete)}, t0_);
  ASSERT_EQ(decisions.update.size(), 1u);
  EXPECT_EQ(decisions.update[0].id, "a");
  EXPECT_EQ(decisions.update[0].desired, TaskState::kShutdown);
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].slot, 1u);
  EXPECT_EQ(decisions.create[0].attempt, 1u);
}

TEST_F(Reconcile, RestartWaitsForTheDelay) {
  service_.spec.replicas = 1;
  service_.spec.restart.delay = seconds(5);
  std::vector<Task> tasks = {task("a", 1, TaskState::kFailed)};  // ended at t0
  auto early = replicated(tasks, t0_ + seconds(1));
  EXPECT_TRUE(early.empty());  // the slot stays held: no new slot either
  ASSERT_TRUE(early.wake_at.has_value());
  EXPECT_EQ(*early.wake_at, t0_ + seconds(5));
  auto due = replicated(tasks, t0_ + seconds(5));
  ASSERT_EQ(due.create.size(), 1u);
  EXPECT_EQ(due.create[0].slot, 1u);
  EXPECT_FALSE(due.wake_at.has_value());
}

TEST_F(Reconcile, OnFailureRestartsFailuresOnly) {
  service_.spec.replicas = 2;
  service_.spec.restart.condition = RestartCondition::kOnFailure;
  auto decisions =
      replicated({task("ok", 1, TaskState::kComplete), task("bad", 2, TaskState::kFailed)}, t0_);
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].slot, 2u);
  ASSERT_EQ(decisions.update.size(), 1u);
  EXPECT_EQ(decisions.update[0].id, "bad");
}

TEST_F(Reconcile, ConditionNoneLeavesTheSlotAsItIs) {
  service_.spec.replicas = 1;
  service_.spec.restart.condition = RestartCondition::kNone;
  auto decisions = replicated({task("a", 1, TaskState::kFailed)}, t0_);
  EXPECT_TRUE(decisions.empty());  // no restart, and no new slot behind the policy's back
}

TEST_F(Reconcile, MaxAttemptsStopsRestarting) {
  service_.spec.replicas = 2;
  service_.spec.restart.max_attempts = 2;
  auto used_up = task("a", 1, TaskState::kFailed);
  used_up.attempt = 2;
  auto one_left = task("b", 2, TaskState::kFailed);
  one_left.attempt = 1;
  auto decisions = replicated({used_up, one_left}, t0_);
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].slot, 2u);
  EXPECT_EQ(decisions.create[0].attempt, 2u);
}

TEST_F(Reconcile, DrainedNodeTasksAreReplacedElsewhere) {
  service_.spec.replicas = 2;
  service_.spec.restart.condition = RestartCondition::kNone;  // not a failure: policy not asked
  nodes_[0].availability = NodeAvailability::kDrain;
  auto on_drained = task("a", 1, TaskState::kRunning, "n1");
  on_drained.attempt = 3;
  auto decisions = replicated({on_drained, task("b", 2, TaskState::kRunning, "n2")}, t0_);
  ASSERT_EQ(decisions.update.size(), 1u);
  EXPECT_EQ(decisions.update[0].id, "a");
  EXPECT_EQ(decisions.update[0].desired, TaskState::kShutdown);
  EXPECT_EQ(decisions.update[0].observed, TaskState::kRunning);  // the agent will stop it
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].slot, 1u);
  EXPECT_EQ(decisions.create[0].attempt, 3u);
  EXPECT_TRUE(decisions.create[0].node_id.empty());  // the scheduler picks another node
}

TEST_F(Reconcile, DownOrRemovedNodeTasksAreOrphanedAndReplaced) {
  service_.spec.replicas = 2;
  nodes_[0].status = NodeStatus::kDown;
  auto decisions = replicated(
      {task("a", 1, TaskState::kRunning, "n1"), task("b", 2, TaskState::kStarting, "gone")}, t0_);
  ASSERT_EQ(decisions.update.size(), 2u);
  for (const auto& t : decisions.update) {
    EXPECT_EQ(t.observed, TaskState::kOrphaned);
    EXPECT_EQ(t.desired, TaskState::kShutdown);
  }
  EXPECT_EQ(decisions.update[0].message, "node n1 is down");
  EXPECT_EQ(slots(decisions.create), (std::vector<uint64_t>{1, 2}));
}

TEST_F(Reconcile, HistoryKeepsTheNewestPerSlot) {
  service_.spec.replicas = 1;
  config_.task_history_limit = 3;
  std::vector<Task> tasks;
  for (int i = 0; i < 4; ++i) {
    auto dead = task("old" + std::to_string(i), 1, TaskState::kNew);
    dead.desired = TaskState::kShutdown;
    ASSERT_TRUE(advance(dead, TaskState::kFailed, {}, t0_ + seconds(i)).ok());
    tasks.push_back(dead);
  }
  tasks.push_back(task("live", 1, TaskState::kRunning));
  auto decisions = replicated(tasks, t0_ + seconds(10));
  std::sort(decisions.remove.begin(), decisions.remove.end());
  EXPECT_EQ(decisions.remove, (std::vector<std::string>{"old0", "old1"}));  // 3 kept: 2 + live
  EXPECT_TRUE(decisions.create.empty());
}

TEST_F(Reconcile, GlobalFollowsEligibleNodes) {
  service_.spec.global = true;
  nodes_[1].availability = NodeAvailability::kDrain;
  nodes_[2].availability = NodeAvailability::kPause;
  Node joining;
  joining.id = "n4";
  joining.status = NodeStatus::kUnknown;
  nodes_.push_back(joining);
  // n2 (drained) has a task; n3 (paused) has one; n1 has none.
  auto decisions = global(
      {task("on-n2", 0, TaskState::kRunning, "n2"), task("on-n3", 0, TaskState::kRunning, "n3")},
      t0_);
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].node_id, "n1");  // the node is chosen by the orchestrator
  EXPECT_EQ(decisions.create[0].slot, 0u);
  ASSERT_EQ(decisions.update.size(), 1u);
  EXPECT_EQ(decisions.update[0].id, "on-n2");
  EXPECT_EQ(decisions.update[0].desired, TaskState::kShutdown);
  // The new node becomes ready: it gets a task.
  nodes_[3].status = NodeStatus::kReady;
  auto after_join = global(
      {task("on-n1", 0, TaskState::kRunning, "n1"), task("on-n3", 0, TaskState::kRunning, "n3")},
      t0_);
  ASSERT_EQ(after_join.create.size(), 1u);
  EXPECT_EQ(after_join.create[0].node_id, "n4");
}

TEST_F(Reconcile, GlobalDownNodeAndConstraints) {
  service_.spec.global = true;
  service_.spec.constraints = {"node.labels.tier==web"};
  nodes_[0].labels["tier"] = "web";
  nodes_[1].labels["tier"] = "db";
  nodes_[2].labels["tier"] = "web";
  nodes_[2].status = NodeStatus::kDown;
  auto decisions = global(
      {task("on-n2", 0, TaskState::kRunning, "n2"), task("on-n3", 0, TaskState::kRunning, "n3")},
      t0_);
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].node_id, "n1");
  ASSERT_EQ(decisions.update.size(), 2u);
  EXPECT_EQ(decisions.update[0].message, "node n2 no longer matches the constraints");
  EXPECT_EQ(decisions.update[1].observed, TaskState::kOrphaned);
}

TEST_F(Reconcile, GlobalRestartStaysOnItsNode) {
  service_.spec.global = true;
  nodes_.resize(1);
  auto decisions = global({task("a", 0, TaskState::kFailed, "n1")}, t0_);
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].node_id, "n1");
  EXPECT_EQ(decisions.create[0].attempt, 1u);
}

// Stop-first (the default): the old task is stopped, its slot refilled once it exited, and the
// next slot waits for the new task to run.
TEST_F(Reconcile, UpdateReplacesOneTaskAtATimeStopFirst) {
  service_.spec.replicas = 3;
  service_.spec.command = {"/bin/server"};
  service_.spec.env = {"MODE=new"};
  service_.spec_version = 1;
  service_.update_status = UpdateStatus{.state = UpdateState::kUpdating,
                                        .started_at = t0_,
                                        .completed_at = std::nullopt,
                                        .message = "update in progress"};
  std::vector<Task> tasks = {task("a", 1, TaskState::kRunning), task("b", 2, TaskState::kRunning),
                             task("c", 3, TaskState::kRunning)};
  auto first = replicated(tasks, t0_);
  ASSERT_EQ(first.update.size(), 1u);
  EXPECT_EQ(first.update[0].id, "a");
  EXPECT_EQ(first.update[0].desired, TaskState::kShutdown);
  EXPECT_EQ(first.update[0].message, "updating to spec version 1");
  EXPECT_TRUE(first.create.empty());  // not before the old task exited

  // While the old task is stopping, nothing else moves.
  tasks[0] = first.update[0];
  EXPECT_TRUE(replicated(tasks, t0_).empty());
  ASSERT_TRUE(advance(tasks[0], TaskState::kShutdown, {}, t0_).ok());
  auto refill = replicated(tasks, t0_);
  ASSERT_EQ(refill.create.size(), 1u);
  const auto& fresh = refill.create[0];
  EXPECT_EQ(fresh.slot, 1u);
  EXPECT_EQ(fresh.spec_version, 1u);
  EXPECT_EQ(fresh.runtime.env, std::vector<std::string>{"MODE=new"});
  EXPECT_EQ(fresh.runtime.command, std::vector<std::string>{"/bin/server"});
  tasks.push_back(fresh);
  EXPECT_TRUE(replicated(tasks, t0_).empty());  // on its way to RUNNING

  // Once it runs, the next slot goes.
  ASSERT_TRUE(advance(tasks.back(), TaskState::kRunning, {}, t0_).ok());
  auto second = replicated(tasks, t0_);
  ASSERT_EQ(second.update.size(), 1u);
  EXPECT_EQ(second.update[0].id, "b");
  EXPECT_FALSE(second.service.has_value());
}

TEST_F(Reconcile, StartFirstRunsTheNewTaskBesideTheOld) {
  service_.spec.replicas = 1;
  service_.spec.env = {"MODE=new"};
  service_.spec.update.order = UpdateOrder::kStartFirst;
  service_.spec_version = 2;
  std::vector<Task> tasks = {task("a", 1, TaskState::kRunning)};
  auto first = replicated(tasks, t0_);
  EXPECT_TRUE(first.update.empty());  // the old one keeps serving
  ASSERT_EQ(first.create.size(), 1u);
  EXPECT_EQ(first.create[0].slot, 1u);
  tasks.push_back(first.create[0]);
  EXPECT_TRUE(replicated(tasks, t0_).empty());  // not a duplicate: one old, one new
  ASSERT_TRUE(advance(tasks.back(), TaskState::kRunning, {}, t0_).ok());
  auto second = replicated(tasks, t0_);
  ASSERT_EQ(second.update.size(), 1u);
  EXPECT_EQ(second.update[0].id, "a");
  EXPECT_EQ(second.update[0].desired, TaskState::kShutdown);
  EXPECT_TRUE(second.create.empty());
}

TEST_F(Reconcile, UpdateCompletesAfterTheMonitorWindow) {
  service_.spec_version = 2;
  service_.update_status.state = UpdateState::kUpdating;
  service_.update_status.started_at = t0_;
  auto fresh = task("a", 1, TaskState::kRunning);  // RUNNING at t0_
  fresh.spec_version = 2;
  auto early = replicated({fresh}, t0_ + seconds(1));
  EXPECT_FALSE(early.service.has_value());
  EXPECT_EQ(early.wake_at, t0_ + seconds(5));
  auto done = replicated({fresh}, t0_ + seconds(5));
  ASSERT_TRUE(done.service.has_value());
  EXPECT_EQ(done.service->update_status.state, UpdateState::kCompleted);
  EXPECT_EQ(done.service->update_status.completed_at, t0_ + seconds(5));
}

TEST_F(Reconcile, AFailingUpdateRollsTheSpecBack) {
  service_.spec.replicas = 2;
  service_.spec.restart.condition = RestartCondition::kNone;
  ServiceSpec old = service_.spec;
  service_.spec.command = {"/bin/false"};
  service_.spec.update.failure_action = FailureAction::kRollback;
  service_.previous_spec = old;
  service_.spec_version = 2;
  service_.update_status.state = UpdateState::kUpdating;
  service_.update_status.started_at = t0_ - seconds(1);
  auto bad = task("bad", 1, TaskState::kFailed);  // ended at t0_
  bad.spec_version = 2;
  bad.runtime = runtime_of(service_.spec);
  auto decisions = replicated({bad, task("b", 2, TaskState::kRunning)}, t0_);
  ASSERT_TRUE(decisions.service.has_value());
  const auto& rolled = *decisions.service;
  EXPECT_EQ(rolled.update_status.state, UpdateState::kRollbackStarted);
  EXPECT_EQ(rolled.spec.command, old.command);
  ASSERT_TRUE(rolled.previous_spec.has_value());
  EXPECT_EQ(rolled.previous_spec->command, std::vector<std::string>{"/bin/false"});
  EXPECT_EQ(rolled.spec_version, 3u);
  EXPECT_TRUE(decisions.create.empty());  // the rollback is planned on the next pass

  // Next pass, rolling back: the failed slot gets the old spec, b (never updated) stays.
  auto next = reconcile_replicated(rolled, {bad, task("b", 2, TaskState::kRunning)}, index(), t0_,
                                   config_, ids_);
  ASSERT_EQ(next.update.size(), 1u);
  EXPECT_EQ(next.update[0].id, "bad");
  EXPECT_EQ(next.update[0].desired, TaskState::kShutdown);
  ASSERT_EQ(next.create.size(), 1u);  // it had exited: its slot is refilled at once
  EXPECT_EQ(next.create[0].slot, 1u);
  EXPECT_EQ(next.create[0].runtime.command, old.command);
  EXPECT_EQ(next.create[0].spec_version, 3u);
  EXPECT_FALSE(next.service.has_value());
}

// After an automatic rollback, no task still stopping may keep its slot empty for long: an old
// task stopped for the update (its runtime is the rollback's) frees its slot at once, and a
// task of the failed update that the rollback stops holds it only until it exited (stop-first).
TEST_F(Reconcile, AfterAnAutomaticRollbackStoppingTasksDoNotKeepTheirSlots) {
  service_.spec.replicas = 3;
  service_.spec.restart.condition = RestartCondition::kNone;
  service_.spec.rollback.parallelism = 3;
  ServiceSpec old = service_.spec;
  service_.spec.command = {"/bin/false"};
  service_.spec.update.failure_action = FailureAction::kRollback;
  service_.previous_spec = old;
  service_.spec_version = 2;
  service_.update_status.state = UpdateState::kUpdating;
  service_.update_status.started_at = t0_ - seconds(1);
  // Slot 1: the old task, asked to stop for the update, still running (its agent is slow).
  auto stopping_old = task("old1", 1, TaskState::kRunning);
  stopping_old.runtime = runtime_of(old);
  stopping_old.desired = TaskState::kShutdown;
  // Slot 2: the update's new task, running. Slot 3: the update's new task, failed.
  auto fresh = task("new2", 2, TaskState::kRunning);
  fresh.spec_version = 2;
  fresh.runtime = runtime_of(service_.spec);
  auto bad = task("bad3", 3, TaskState::kFailed);
  bad.spec_version = 2;
  bad.runtime = runtime_of(service_.spec);
  std::vector<Task> tasks = {stopping_old, fresh, bad};

  auto decided = replicated(tasks, t0_);
  ASSERT_TRUE(decided.service.has_value());
  ASSERT_EQ(decided.service->update_status.state, UpdateState::kRollbackStarted);
  const Service rolled = *decided.service;

  // Rolling back: slot 1 is not held by its stopping old task (it runs what the rollback
  // wants), so its replacement starts now; slot 3's failed task is replaced at once; slot 2's
  // update task is stopped first.
  auto next = reconcile_replicated(rolled, tasks, index(), t0_, config_, ids_);
  EXPECT_EQ(slots(next.create), (std::vector<uint64_t>{1, 3}));
  for (const auto& created : next.create) {
    EXPECT_EQ(created.runtime.command, old.command);
    EXPECT_EQ(created.spec_version, 3u);
  }
  std::vector<std::string> stopped;
  for (const auto& changed : next.update) {
    if (changed.desired == TaskState::kShutdown)
      stopped.push_back(changed.id);
  }
  std::sort(stopped.begin(), stopped.end());
  EXPECT_EQ(stopped, (std::vector<std::string>{"bad3", "new2"}));

  // Slot 2 waits for new2 to exit (stop-first), and no longer than that.
  for (auto& t : tasks) {
    for (const auto& changed : next.update) {
      if (changed.id == t.id)
        t = changed;
    }
  }
  for (auto created : next.create) {
    ASSERT_TRUE(advance(created, TaskState::kRunning, {}, t0_).ok());
    tasks.push_back(created);
  }
  auto waiting = reconcile_replicated(rolled, tasks, index(), t0_, config_, ids_);
  EXPECT_TRUE(waiting.create.empty());
  auto& new2 =
      *std::find_if(tasks.begin(), tasks.end(), [](const Task& t) { return t.id == "new2"; });
  ASSERT_TRUE(advance(new2, TaskState::kShutdown, {}, t0_).ok());
  auto refilled = reconcile_replicated(rolled, tasks, index(), t0_, config_, ids_);
  ASSERT_EQ(refilled.create.size(), 1u);
  EXPECT_EQ(refilled.create[0].slot, 2u);
  EXPECT_EQ(refilled.create[0].runtime.command, old.command);

  // A stopping task whose node went down holds nothing either.
  nodes_[0].status = NodeStatus::kDown;
  new2.observed = TaskState::kRunning;  // as if it had not exited: its node is gone
  new2.history.pop_back();
  auto gone = reconcile_replicated(rolled, tasks, index(), t0_, config_, ids_);
  std::vector<uint64_t> created_slots = slots(gone.create);
  EXPECT_TRUE(std::find(created_slots.begin(), created_slots.end(), 2u) != created_slots.end());
}

TEST_F(Reconcile, AReplicatedTaskOnANodeNoLongerMatchingIsOutdated) {
  service_.spec.replicas = 1;
  service_.spec.constraints = {"node.labels.zone==east"};
  nodes_[0].labels["zone"] = "west";
  auto decisions = replicated({task("a", 1, TaskState::kRunning, "n1")}, t0_);
  ASSERT_EQ(decisions.update.size(), 1u);
  EXPECT_EQ(decisions.update[0].id, "a");
  EXPECT_EQ(decisions.update[0].desired, TaskState::kShutdown);
  nodes_[0].labels["zone"] = "east";
  EXPECT_TRUE(replicated({task("a", 1, TaskState::kRunning, "n1")}, t0_).empty());
}

TEST_F(Reconcile, GlobalUpdateStaysOnTheNode) {
  service_.spec.global = true;
  service_.spec.update.order = UpdateOrder::kStartFirst;
  service_.spec.env = {"V=2"};
  service_.spec_version = 2;
  nodes_.resize(2);
  auto decisions = global(
      {task("a", 0, TaskState::kRunning, "n1"), task("b", 0, TaskState::kRunning, "n2")}, t0_);
  EXPECT_TRUE(decisions.update.empty());
  ASSERT_EQ(decisions.create.size(), 1u);
  EXPECT_EQ(decisions.create[0].node_id, "n1");
  EXPECT_EQ(decisions.create[0].spec_version, 2u);
}

TEST_F(Reconcile, RemovedServiceShutsDownAndForgets) {
  auto dead = task("dead", 1, TaskState::kFailed);
  dead.desired = TaskState::kShutdown;
  auto decisions = reconcile_removed({task("live", 2, TaskState::kRunning), dead}, t0_);
  ASSERT_EQ(decisions.update.size(), 1u);
  EXPECT_EQ(decisions.update[0].desired, TaskState::kShutdown);
  EXPECT_EQ(decisions.remove, std::vector<std::string>{"dead"});
}

}  // namespace
}  // namespace shoal::manager
