// The rolling-update planner: batches (parallelism), delay, the monitor window, the failure ratio
// and each failure action, stop-first and start-first, and the statuses that follow.
#include "control/manager/rules/update_planner.h"

#include <gtest/gtest.h>

#include <deque>

namespace shoal::manager {
namespace {

using std::chrono::seconds;

class Planner : public ::testing::Test {
 protected:
  Planner() {
    input_.spec_version = 2;
    input_.status.state = UpdateState::kUpdating;
    input_.status.started_at = t0_;
    input_.now = t0_;
  }

  // A task of spec version `version` in `state`; RUNNING ones started at `started`, ended ones
  // ended at `ended` (and started at `started` when given).
  const Task* make(std::string id, uint64_t version, TaskState state,
                   std::optional<TimePoint> started = std::nullopt,
                   std::optional<TimePoint> ended = std::nullopt) {
    Task task;
    task.id = std::move(id);
    task.spec_version = version;
    task.observed = state;
    task.started_at = started;
    task.ended_at = ended;
    tasks_.push_back(task);
    input_.history.push_back(&tasks_.back());
    return &tasks_.back();
  }
  // `n` slots each with one running outdated task o1..on.
  void outdated_slots(int n) {
    for (int i = 1; i <= n; ++i) {
      input_.slots.push_back(UpdateSlot{
          .outdated = make("o" + std::to_string(i), 1, TaskState::kRunning, t0_ - seconds(100)),
          .fresh = nullptr,
          .stopping = nullptr});
    }
  }
  static std::vector<std::string> ids(const std::vector<const Task*>& tasks) {
    std::vector<std::string> out;
    for (const Task* t : tasks) {
      out.push_back(t->id);
    }
    return out;
  }

  std::deque<Task> tasks_;  // stable addresses
  UpdateInput input_;
  TimePoint t0_ = TimePoint{} + seconds(1000);
};

TEST_F(Planner, ParallelismOneReplacesTheFirstSlotOnly) {
  outdated_slots(3);
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kInProgress);
  EXPECT_EQ(ids(plan.replace), (std::vector<std::string>{"o1"}));
  EXPECT_TRUE(plan.stop.empty());
}

TEST_F(Planner, ParallelismTwoTakesTwoSlotsAndZeroTakesAll) {
  outdated_slots(5);
  input_.config.parallelism = 2;
  EXPECT_EQ(ids(plan_update(input_).replace), (std::vector<std::string>{"o1", "o2"}));
  input_.config.parallelism = 0;
  EXPECT_EQ(plan_update(input_).replace.size(), 5u);
}

TEST_F(Planner, ZeroTakesAllEvenWhileSlotsAreInFlight) {
  outdated_slots(3);
  input_.config.parallelism = 0;
  input_.slots[0] = UpdateSlot{
      .outdated = nullptr, .fresh = make("n1", 2, TaskState::kStarting), .stopping = nullptr};
  EXPECT_EQ(ids(plan_update(input_).replace), (std::vector<std::string>{"o2", "o3"}));
}

TEST_F(Planner, ABatchInFlightHoldsItsWorkers) {
  input_.config.parallelism = 2;
  outdated_slots(4);
  // Slot 1 was replaced (stop-first): its old task is still stopping. Slot 2's new task starts.
  input_.slots[0] = UpdateSlot{
      .outdated = nullptr, .fresh = nullptr, .stopping = make("s1", 1, TaskState::kRunning)};
  input_.slots[1] = UpdateSlot{
      .outdated = nullptr, .fresh = make("n2", 2, TaskState::kStarting), .stopping = nullptr};
  auto plan = plan_update(input_);
  EXPECT_TRUE(plan.replace.empty());
  EXPECT_EQ(plan.outcome, UpdateOutcome::kInProgress);

  // Slot 2's task runs (no delay, monitor not in the way of the next batch): one worker frees.
  tasks_[5].observed = TaskState::kRunning;
  tasks_[5].started_at = t0_;
  input_.slots[1].fresh = &tasks_[5];
  EXPECT_EQ(ids(plan_update(input_).replace), (std::vector<std::string>{"o3"}));
}

TEST_F(Planner, DelayKeepsTheWorkerBusyAfterItsTaskStarted) {
  input_.config.delay = seconds(10);
  outdated_slots(2);
  input_.slots[0] = UpdateSlot{.outdated = nullptr,
                               .fresh = make("n1", 2, TaskState::kRunning, t0_ + seconds(1)),
                               .stopping = nullptr};
  input_.now = t0_ + seconds(5);
  auto plan = plan_update(input_);
  EXPECT_TRUE(plan.replace.empty());
  ASSERT_TRUE(plan.wake_at.has_value());
  EXPECT_EQ(*plan.wake_at, t0_ + seconds(6));  // the monitor window (5 s) ends first
  input_.now = t0_ + seconds(11);
  plan = plan_update(input_);
  EXPECT_EQ(ids(plan.replace), (std::vector<std::string>{"o2"}));
}

TEST_F(Planner, CompletesOnlyAfterTheMonitorWindow) {
  input_.slots.push_back(UpdateSlot{.outdated = nullptr,
                                    .fresh = make("n1", 2, TaskState::kRunning, t0_ + seconds(2)),
                                    .stopping = nullptr});
  input_.now = t0_ + seconds(4);
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kInProgress);
  ASSERT_TRUE(plan.wake_at.has_value());
  EXPECT_EQ(*plan.wake_at, t0_ + seconds(7));
  EXPECT_FALSE(next_status(input_.status, plan, input_.now).has_value());

  input_.now = t0_ + seconds(7);
  plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kCompleted);
  auto status = next_status(input_.status, plan, input_.now);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, UpdateState::kCompleted);
  EXPECT_EQ(status->completed_at, input_.now);
  EXPECT_EQ(status->message, "update completed");
}

TEST_F(Planner, NothingToDoWithoutAnUpdateIsIdle) {
  input_.status = UpdateStatus{};
  input_.slots.push_back(UpdateSlot{
      .outdated = nullptr, .fresh = make("n1", 2, TaskState::kRunning, t0_), .stopping = nullptr});
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kIdle);
  EXPECT_FALSE(next_status(input_.status, plan, input_.now).has_value());
}

TEST_F(Planner, StartFirstStopsTheOldTaskOnceTheNewOneRuns) {
  input_.config.order = UpdateOrder::kStartFirst;
  outdated_slots(2);
  input_.slots[0].fresh = make("n1", 2, TaskState::kStarting);
  auto plan = plan_update(input_);
  EXPECT_TRUE(plan.stop.empty());     // the old one serves until the new one runs
  EXPECT_TRUE(plan.replace.empty());  // the only worker is busy with slot 1

  tasks_[2].observed = TaskState::kRunning;
  tasks_[2].started_at = t0_ + seconds(1);
  input_.now = t0_ + seconds(1);
  plan = plan_update(input_);
  EXPECT_EQ(ids(plan.stop), (std::vector<std::string>{"o1"}));
  EXPECT_EQ(ids(plan.replace), (std::vector<std::string>{"o2"}));
}

TEST_F(Planner, ATaskFailingBeforeRunningPausesTheUpdate) {
  outdated_slots(3);
  input_.slots[0] =
      UpdateSlot{.outdated = nullptr,
                 .fresh = make("bad", 2, TaskState::kFailed, std::nullopt, t0_ + seconds(1)),
                 .stopping = nullptr};
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kPaused);
  EXPECT_EQ(plan.failures, 1u);
  EXPECT_TRUE(plan.replace.empty());
  auto status = next_status(input_.status, plan, input_.now);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, UpdateState::kPaused);
  EXPECT_EQ(status->message, "update paused due to failure or early termination of task bad");

  // Paused stays paused: nothing is replaced and the status does not change again.
  input_.status = *status;
  plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kPaused);
  EXPECT_TRUE(plan.replace.empty());
  EXPECT_FALSE(next_status(input_.status, plan, input_.now).has_value());
}

TEST_F(Planner, ExitingWithinTheMonitorWindowIsAFailureAfterItIsNot) {
  outdated_slots(2);
  input_.slots[0].outdated = nullptr;
  make("quick", 2, TaskState::kComplete, t0_ + seconds(1), t0_ + seconds(3));
  EXPECT_EQ(plan_update(input_).failures, 1u);
  tasks_.back().ended_at = t0_ + seconds(7);  // ran 6 s, monitor is 5 s
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.failures, 0u);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kInProgress);
}

TEST_F(Planner, FailuresBeforeTheUpdateOrOfOtherVersionsDoNotCount) {
  outdated_slots(2);
  make("old-version", 1, TaskState::kFailed, std::nullopt, t0_ + seconds(1));
  make("last-update", 2, TaskState::kFailed, std::nullopt, t0_ - seconds(1));
  make("stopped", 2, TaskState::kShutdown, t0_, t0_ + seconds(1));
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.failures, 0u);
  EXPECT_EQ(ids(plan.replace), (std::vector<std::string>{"o1"}));
}

TEST_F(Planner, TheFailureRatioToleratesUpToItsShare) {
  input_.config.max_failure_ratio = 0.5;
  outdated_slots(4);
  make("f1", 2, TaskState::kFailed, std::nullopt, t0_ + seconds(1));
  make("f2", 2, TaskState::kFailed, std::nullopt, t0_ + seconds(2));
  auto plan = plan_update(input_);  // 2/4 is not above 0.5
  EXPECT_EQ(plan.failures, 2u);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kInProgress);
  make("f3", 2, TaskState::kRejected, std::nullopt, t0_ + seconds(3));
  plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kPaused);
  EXPECT_EQ(plan.failed_task, "f3");
}

TEST_F(Planner, ContinueKeepsGoingDespiteFailures) {
  input_.config.failure_action = FailureAction::kContinue;
  outdated_slots(2);
  input_.slots[0] = UpdateSlot{.outdated = nullptr,
                               .fresh = make("bad", 2, TaskState::kFailed, std::nullopt, t0_),
                               .stopping = nullptr};
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.failures, 1u);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kInProgress);
  EXPECT_EQ(ids(plan.replace), (std::vector<std::string>{"o2"}));
}

TEST_F(Planner, RollbackActionAsksForTheRollbackAndARollbackFailurePauses) {
  input_.config.failure_action = FailureAction::kRollback;
  outdated_slots(2);
  make("bad", 2, TaskState::kFailed, std::nullopt, t0_ + seconds(1));
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kRollback);
  auto status = next_status(input_.status, plan, t0_ + seconds(2));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, UpdateState::kRollbackStarted);
  EXPECT_EQ(status->started_at, t0_ + seconds(2));
  EXPECT_EQ(status->message, "update rolled back due to failure or early termination of task bad");

  // The rollback itself failing: there is nothing further back, so it pauses.
  input_.status = *status;
  input_.spec_version = 3;
  make("bad-again", 3, TaskState::kFailed, std::nullopt, t0_ + seconds(3));
  plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kPaused);
  status = next_status(input_.status, plan, t0_ + seconds(3));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, UpdateState::kRollbackPaused);
}

TEST_F(Planner, ARollbackCompletesAsRollbackCompleted) {
  input_.status.state = UpdateState::kRollbackStarted;
  input_.slots.push_back(UpdateSlot{.outdated = nullptr,
                                    .fresh = make("old", 1, TaskState::kRunning, t0_ - seconds(60)),
                                    .stopping = nullptr});
  auto plan = plan_update(input_);
  EXPECT_EQ(plan.outcome, UpdateOutcome::kCompleted);
  auto status = next_status(input_.status, plan, t0_);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, UpdateState::kRollbackCompleted);
  EXPECT_EQ(status->message, "rollback completed");
}

// A whole update, stepped: 4 slots, parallelism 2, delay 3 s, monitor 5 s, stop-first, with
// the caller's part (new task once the old exited, the agent starting it) simulated.
TEST_F(Planner, AWholeUpdateRunsInTwoBatches) {
  input_.config.parallelism = 2;
  input_.config.delay = seconds(3);
  outdated_slots(4);
  std::vector<int> replaced_at(4, -1);
  int fresh_count = 0;
  for (int second = 0; second < 40; ++second) {
    input_.now = t0_ + seconds(second);
    auto plan = plan_update(input_);
    if (plan.outcome == UpdateOutcome::kCompleted) {
      // Batch one stopped at 0 s, new tasks made at 1 s and running at 2 s, workers free at 5 s;
      // batch two running at 7 s and watched until 12 s.
      EXPECT_EQ(second, 12);
      EXPECT_EQ(replaced_at, (std::vector<int>{0, 0, 5, 5}));
      return;
    }
    ASSERT_EQ(plan.outcome, UpdateOutcome::kInProgress);
    for (auto& slot : input_.slots) {
      if (slot.fresh != nullptr && slot.fresh->observed < TaskState::kRunning) {
        auto* fresh = const_cast<Task*>(slot.fresh);  // the agent reports it RUNNING
        fresh->observed = TaskState::kRunning;
        fresh->started_at = input_.now;
      }
      if (slot.stopping != nullptr) {  // the old task exited; the caller creates the new one
        slot.stopping = nullptr;
        slot.fresh = make("n" + std::to_string(++fresh_count), 2, TaskState::kPending);
      }
    }
    for (const Task* task : plan.replace) {
      for (size_t i = 0; i < input_.slots.size(); ++i) {
        if (input_.slots[i].outdated == task) {
          input_.slots[i].outdated = nullptr;
          input_.slots[i].stopping = task;
          replaced_at[i] = second;
        }
      }
    }
  }
  FAIL() << "the update never completed";
}

}  // namespace
}  // namespace shoal::manager
