#include "control/manager/rules/update_planner.h"

#include <algorithm>

namespace shoal::manager {

namespace {

bool ended_by_itself(const Task& task) {
  return task.observed == TaskState::kComplete || task.observed == TaskState::kFailed ||
         task.observed == TaskState::kRejected;
}

// Without a start time there is no update to watch over.
bool started_since(const std::optional<TimePoint>& when, const UpdateStatus& status) {
  return when && status.started_at && *when >= *status.started_at;
}

void wake(std::optional<TimePoint>& at, TimePoint when) {
  if (!at || when < *at) {
    at = when;
  }
}

// Failures of this update's tasks, and the latest one's id.
size_t count_failures(const UpdateInput& in, std::string& last) {
  size_t failures = 0;
  std::optional<TimePoint> last_at;
  for (const Task* task : in.history) {
    if (task->spec_version != in.spec_version || !ended_by_itself(*task) ||
        !started_since(task->ended_at, in.status)) {
      continue;
    }
    if (task->started_at && *task->ended_at - *task->started_at > in.config.monitor) {
      continue;  // ran past its monitor window: a later failure is the restart policy's business
    }
    ++failures;
    if (!last_at || *task->ended_at >= *last_at) {
      last_at = task->ended_at;
      last = task->id;
    }
  }
  return failures;
}

bool failed_too_often(size_t failures, size_t slots, double ratio) {
  if (failures == 0) {
    return false;
  }
  return slots == 0 || static_cast<double>(failures) / static_cast<double>(slots) > ratio;
}

bool of_this_update(const Task* task, const UpdateInput& in) {
  return task != nullptr && task->spec_version == in.spec_version;
}

}  // namespace

UpdatePlan plan_update(const UpdateInput& in) {
  UpdatePlan plan;
  if (in.status.state == UpdateState::kPaused || in.status.state == UpdateState::kRollbackPaused) {
    plan.outcome = UpdateOutcome::kPaused;
    return plan;
  }
  plan.failures = count_failures(in, plan.failed_task);
  if (in.config.failure_action != FailureAction::kContinue &&
      failed_too_often(plan.failures, in.slots.size(), in.config.max_failure_ratio)) {
    // A rollback that fails pauses: there is nothing further back to return to.
    bool rollback =
        in.config.failure_action == FailureAction::kRollback && !is_rollback(in.status.state);
    plan.outcome = rollback ? UpdateOutcome::kRollback : UpdateOutcome::kPaused;
    return plan;
  }

  size_t busy = 0;
  bool unfinished = false;
  std::vector<const Task*> candidates;
  for (const auto& slot : in.slots) {
    const Task* fresh = slot.fresh;
    bool fresh_running = fresh != nullptr && fresh->observed == TaskState::kRunning;
    bool fresh_starting = fresh != nullptr && fresh->observed < TaskState::kRunning;
    if (slot.outdated != nullptr) {
      unfinished = true;
      if (fresh == nullptr && slot.stopping == nullptr) {
        candidates.push_back(slot.outdated);
      } else if (fresh_running) {
        plan.stop.push_back(slot.outdated);  // start-first: the new one runs, the old one goes
      }
    }
    if (slot.stopping != nullptr || (fresh_starting && of_this_update(fresh, in))) {
      ++busy;
      continue;
    }
    // A worker waits `delay` after its task started before taking the next slot.
    if (fresh_running && of_this_update(fresh, in) && started_since(fresh->started_at, in.status)) {
      TimePoint free_at = *fresh->started_at + in.config.delay;
      TimePoint watched_until = *fresh->started_at + in.config.monitor;
      if (free_at > in.now) {
        ++busy;
        wake(plan.wake_at, free_at);
      }
      if (watched_until > in.now) {
        unfinished = true;  // not complete before the window ends
        wake(plan.wake_at, watched_until);
      }
    }
  }
  // Parallelism 0 is "all at once": slots still in flight take no worker from the others.
  size_t free = in.config.parallelism == 0     ? candidates.size()
                : in.config.parallelism > busy ? in.config.parallelism - busy
                                               : 0;
  candidates.resize(std::min(free, candidates.size()));
  plan.replace = std::move(candidates);

  if (unfinished || busy > 0 || !plan.replace.empty()) {
    plan.outcome = UpdateOutcome::kInProgress;
  } else if (in.status.state == UpdateState::kUpdating ||
             in.status.state == UpdateState::kRollbackStarted) {
    plan.outcome = UpdateOutcome::kCompleted;
  }
  return plan;
}

std::optional<UpdateStatus> next_status(const UpdateStatus& status, const UpdatePlan& plan,
                                        TimePoint now) {
  UpdateStatus next = status;
  std::string why = "due to failure or early termination of task " + plan.failed_task;
  switch (plan.outcome) {
    case UpdateOutcome::kCompleted:
      if (status.state == UpdateState::kUpdating) {
        next.state = UpdateState::kCompleted;
        next.message = "update completed";
      } else if (status.state == UpdateState::kRollbackStarted) {
        next.state = UpdateState::kRollbackCompleted;
        next.message = "rollback completed";
      } else {
        return std::nullopt;
      }
      next.completed_at = now;
      return next;
    case UpdateOutcome::kPaused:
      if (status.state == UpdateState::kUpdating) {
        next.state = UpdateState::kPaused;
        next.message = "update paused " + why;
      } else if (status.state == UpdateState::kRollbackStarted) {
        next.state = UpdateState::kRollbackPaused;
        next.message = "rollback paused " + why;
      } else {
        return std::nullopt;
      }
      return next;
    case UpdateOutcome::kRollback:
      next.state = UpdateState::kRollbackStarted;
      next.started_at = now;
      next.completed_at.reset();
      next.message = "update rolled back " + why;
      return next;
    case UpdateOutcome::kIdle:
    case UpdateOutcome::kInProgress:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace shoal::manager
