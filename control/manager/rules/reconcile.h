// The orchestrator's decisions, as pure functions of a service, its tasks, the nodes and the time.
//
// A task is *live* while its desired state is RUNNING or earlier. Each live task is looked at
// first, in this order:
//   - on a node that is gone or DOWN: observed ORPHANED, desired SHUTDOWN, and (replicated) a
//     replacement in the same slot at once; on a drained node: desired SHUTDOWN and the same
//     replacement. The task did not fail, so the restart policy is not consulted and the
//     replacement does not count as an attempt.
//   - ended by itself (COMPLETE, FAILED, REJECTED...): the restart policy decides. Condition none,
//     on-failure after COMPLETE, or max attempts used: the task is left as it is, still holding its
//     slot, so the service reads e.g. 0/1 as Docker's does rather than restarting behind the
//     policy's back. Otherwise, once `delay` has passed since it ended, it is shut down and a
//     replacement takes its slot with attempt + 1; before that, the slot stays held and the
//     decisions say when to look again (wake_at).
// Then the count: replicated services fill missing slots 1..replicas (lowest first) and shut
// down live tasks above the wanted count, highest slots first. Global services want one live
// task on every node that is READY, active and matches the constraints; a paused node keeps what
// it runs; drained, down, gone or no-longer-matching nodes have theirs shut down.
// Then updates: a live task is outdated when its runtime differs from the spec's (or, replicated,
// its node no longer matches the constraints). The update planner (update_planner.h) says which
// to replace now; an outdated task still stopping for the update (stop-first) keeps its slot
// until it exited. Its outcome moves the service's update status, and may roll the spec back.
// Last, history: per slot (per node for global), at most `task_history_limit` tasks are kept,
// the live one included; the oldest finished ones beyond that are removed.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/manager/rules/ids.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

struct OrchestratorConfig {
  uint64_t task_history_limit = 5;  // Docker's default --task-history-limit
};

struct Decisions {
  std::vector<Task> create;         // new tasks: NEW, desired RUNNING
  std::vector<Task> update;         // changed tasks (desired or observed state)
  std::vector<std::string> remove;  // history beyond the limit
  std::optional<TimePoint> wake_at;
  // The service itself, when its update status moved or an automatic rollback swapped its spec.
  std::optional<Service> service;

  bool empty() const {
    return create.empty() && update.empty() && remove.empty() && !service.has_value();
  }
};

using NodeIndex = std::unordered_map<std::string, const Node*>;

Decisions reconcile_replicated(const Service& service, const std::vector<Task>& tasks,
                               const NodeIndex& nodes, TimePoint now,
                               const OrchestratorConfig& config, IdGenerator& ids);

Decisions reconcile_global(const Service& service, const std::vector<Task>& tasks,
                           const std::vector<Node>& nodes, TimePoint now,
                           const OrchestratorConfig& config, IdGenerator& ids);

// The service is gone: every live task is shut down, and finished ones removed.
Decisions reconcile_removed(const std::vector<Task>& tasks, TimePoint now);

}  // namespace shoal::manager
