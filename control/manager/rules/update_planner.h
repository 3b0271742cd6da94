// The rolling-update planner: a pure function from a service's slots, its update state and the
// time to what the orchestrator does now. No state of its own: everything it needs is in the
// tasks (their runtime, spec_version, started_at, ended_at) and the service's UpdateStatus, so a
// restarted manager carries on where the last one stopped.
//
// A slot is a replicated slot or a global service's node. In each slot the caller names:
//   - outdated: the live task whose runtime differs from the spec's (it is to be replaced);
//   - fresh:    the live task made from the current spec, if any;
//   - stopping: an outdated task asked to stop for the update (stop-first) that has not exited.
// Parallelism N means N workers, as in swarmkit: a worker is busy with a slot while its new task
// is on its way to RUNNING (or, start-first, while the old one still runs beside it), and then
// for `delay` after the new task started. Free workers take the next outdated slots, in order.
// stop-first replaces by stopping the old task; the caller creates the new one once it exited.
// start-first replaces by starting the new task; the old one is stopped once the new one runs.
//
// Failures: a task of the update (spec_version of the service, ended after the update started)
// that ended by itself (COMPLETE, FAILED, REJECTED) before RUNNING or within `monitor` of
// starting. When failures / slots exceeds max_failure_ratio, the failure action applies: pause
// stops the update, continue ignores it, rollback asks the caller to return to previous_spec.
// The update completes once no slot is outdated or busy and the last new task has been running
// for `monitor` (swarmkit waits the monitor period out the same way).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/manager/rules/types.h"

namespace shoal::manager {

struct UpdateSlot {
  const Task* outdated = nullptr;
  const Task* fresh = nullptr;
  const Task* stopping = nullptr;
};

struct UpdateInput {
  UpdateConfig config;  // the service's update or rollback config, by the state
  UpdateStatus status;
  uint64_t spec_version = 0;
  std::vector<UpdateSlot> slots;
  std::vector<const Task*> history;  // every task of the service, finished ones included
  TimePoint now;
};

enum class UpdateOutcome {
  kIdle,        // nothing outdated and nothing being watched
  kInProgress,  // replacing, or watching new tasks for `monitor`
  kCompleted,   // just finished: every slot fresh and past its monitor window
  kPaused,      // failure action pause (or a paused status): nothing is replaced
  kRollback,    // failure action rollback: return to the previous spec
};

struct UpdatePlan {
  UpdateOutcome outcome = UpdateOutcome::kIdle;
  std::vector<const Task*> replace;  // outdated tasks whose slot is taken now
  std::vector<const Task*> stop;     // start-first: outdated tasks whose replacement runs
  std::optional<TimePoint> wake_at;  // look again then (a delay or a monitor window ends)
  size_t failures = 0;
  std::string failed_task;  // the last failure's task id, for the status message
};

UpdatePlan plan_update(const UpdateInput& input);

// The UpdateStatus after a plan (Docker's states and messages); nullopt when unchanged.
std::optional<UpdateStatus> next_status(const UpdateStatus& status, const UpdatePlan& plan,
                                        TimePoint now);

}  // namespace shoal::manager
