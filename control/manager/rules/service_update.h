// What `service update` and `service rollback` do to a service, as Docker does it, and which
// tasks an update replaces: the one definition the API handlers and the orchestrator share.
//
// A task is outdated when it runs something other than its service's spec says (runtime_of:
// command, args, env, grace period, configs, aliases, and force_update, which `--force` and a
// change of ports or networks bump), or when its node no longer meets the spec's constraints.
// An update whose new spec outdates tasks starts a new spec version with an update in
// progress; the update planner (update_planner.h) replaces them.
#pragma once

#include <vector>

#include "common/result.h"
#include "control/manager/rules/constraint.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

// Whether `task` is outdated under a spec whose tasks run `wanted` and must meet `constraints`
// (none: no node check). `node`: the task's node, nullptr when it has none or it is unknown.
bool task_outdated(const Task& task, const TaskRuntime& wanted,
                   const std::vector<Constraint>* constraints, const Node* node);

// Whether moving from spec `from` to spec `to` outdates the tasks made from `from`.
bool tasks_change(const ServiceSpec& from, const ServiceSpec& to);

// `service update`: `spec` (already validated) replaces the service's; the old one is kept for
// a rollback. The name and the mode (replicated/global) cannot change. A change of ports or
// networks makes the allocator run again and replaces every task; `force` replaces them too.
Status update_service(Service& service, ServiceSpec spec, bool force, TimePoint now);

// `service rollback`: back to the previous spec, swapped, so a second rollback returns to the
// spec rolled away from.
Status roll_back_service(Service& service, TimePoint now);

}  // namespace shoal::manager
