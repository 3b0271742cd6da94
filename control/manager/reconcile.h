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
// Then updates: live tasks made from an older spec_version of the service are replaced one at a
// time, the next only once the previous replacement is RUNNING (stop-first, parallelism 1).
// Last, history: per slot (per node for global), at most `task_history_limit` tasks are kept,
// the live one included; the oldest finished ones beyond that are removed.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/manager/ids.h"
#include "control/manager/types.h"

namespace shoal::manager {

struct OrchestratorConfig {
  uint64_t task_history_limit = 5;  // Docker's default --task-history-limit
};

struct Decisions {
  std::vector<Task> create;         // new tasks: NEW, desired RUNNING
  std::vector<Task> update;         // changed tasks (desired or observed state)
  std::vector<std::string> remove;  // history beyond the limit
  std::optional<TimePoint> wake_at;

  bool empty() const { return create.empty() && update.empty() && remove.empty(); }
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
