#include "control/manager/rules/service_update.h"

#include <algorithm>

namespace shoal::manager {

bool task_outdated(const Task& task, const TaskRuntime& wanted,
                   const std::vector<Constraint>* constraints, const Node* node) {
  if (task.runtime != wanted)
    return true;
  if (constraints == nullptr || node == nullptr)
    return false;
  return !std::all_of(constraints->begin(), constraints->end(),
                      [&](const Constraint& c) { return c.matches(*node); });
}

bool tasks_change(const ServiceSpec& from, const ServiceSpec& to) {
  return runtime_of(from) != runtime_of(to) || from.constraints != to.constraints;
}

namespace {

void start_update(Service& service, UpdateState state, std::string message, TimePoint now) {
  service.update_status = UpdateStatus{.state = state,
                                       .started_at = now,
                                       .completed_at = std::nullopt,
                                       .message = std::move(message)};
}

}  // namespace

Status update_service(Service& service, ServiceSpec spec, bool force, TimePoint now) {
  const std::string what = "service " + service.spec.name;
  if (spec.name != service.spec.name)
    return Error{.op = "update", .object = what, .detail = "renaming services is not supported"};
  if (spec.global != service.spec.global) {
    return Error{
        .op = "update", .object = what, .detail = "its mode cannot be changed (replicated/global)"};
  }
  const bool endpoint_changed =
      spec.ports != service.spec.ports || spec.networks != service.spec.networks;
  if (endpoint_changed) {
    // The allocator gives ports and VIPs again (keeping what stays); the tasks are replaced so
    // that they are on the new networks and publish the new ports.
    service.allocated = false;
  }
  spec.force_update = service.spec.force_update + (force || endpoint_changed ? 1 : 0);
  if (tasks_change(service.spec, spec)) {
    ++service.spec_version;
    start_update(service, UpdateState::kUpdating, "update in progress", now);
  }
  service.previous_spec = std::move(service.spec);  // Docker keeps it on every update
  service.spec = std::move(spec);
  return {};
}

Status roll_back_service(Service& service, TimePoint now) {
  if (!service.previous_spec) {
    return Error{.op = "roll back",
                 .object = "service " + service.spec.name,
                 .detail = "it has no previous spec to roll back to"};
  }
  std::swap(service.spec, *service.previous_spec);
  const ServiceSpec& from = *service.previous_spec;
  if (from.ports != service.spec.ports || from.networks != service.spec.networks)
    service.allocated = false;  // the allocator gives the earlier ports and VIPs again
  if (tasks_change(from, service.spec))
    ++service.spec_version;
  start_update(service, UpdateState::kRollbackStarted, "manually requested rollback", now);
  return {};
}

}  // namespace shoal::manager
