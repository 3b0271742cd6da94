// One task's life on this node, from its assignment to its teardown: its spec for the task
// runtime, its network endpoints (TaskNetworks), its process (the runtime), its place in the
// service plane's rotation, and its stop. It keeps no bookkeeping of its own: the task's record
// is the executor's, passed in; what is reported, and when, is the executor's too.
//
// A task enters rotation once its published TCP ports accept (readiness.h), or after a bound,
// and leaves it before its SIGTERM, so no request meets a task that is not serving.
#pragma once

#include <chrono>
#include <string>

#include "control/agent/executor/task_networks.h"
#include "control/agent/executor/task_record.h"
#include "control/agent/plane/task_rotation.h"
#include "control/api/convert.h"
#include "control/runtime/task_runtime.h"

namespace shoal::agent {

// What the runtime runs for `task` (its namespace is set at start): its command and arguments,
// environment, the embedded DNS server as resolver, its short id as hostname, its configs as
// files. An error when a config's data did not arrive with the assignment.
Result<runtime::TaskSpec> task_spec(const api::TaskAssignment& task);

// What the service plane learns of a task: its endpoints (address, VIP, aliases per network)
// and published ports.
TaskService task_service(const api::TaskAssignment& task, const TaskRecord& record);

// How an exited task is reported: complete on 0, failed with its code or 128 + its signal.
struct ExitReport {
  manager::TaskState state;
  std::string message;
  int exit_code = 0;
};
ExitReport exit_report(const runtime::TaskStatus& status);

class TaskController {
 public:
  // All three outlive the controller.
  TaskController(TaskNetworks& networks, runtime::TaskRuntime& runtime, TaskRotation& plane);

  // The task's endpoints attached and published. On an error, teardown() undoes what was made.
  Status prepare(const api::TaskAssignment& task, const NetworkMap& networks, TaskRecord& record);
  // Its process started in its namespace: the pid. On an error, teardown() undoes the rest.
  Result<int> start(const api::TaskAssignment& task, runtime::TaskSpec spec, TaskRecord& record);
  // Whether a running task may take traffic: true once its published TCP ports accept, after
  // the bound, for an adopted task, or when the probe cannot run (it never keeps a task out).
  bool ready_for_rotation(const api::TaskAssignment& task, const TaskRecord& record) const;
  void put_in_rotation(const api::TaskAssignment& task, TaskRecord& record);
  void take_out_of_rotation(const std::string& task_id, TaskRecord& record);
  // SIGTERM, `grace`, SIGKILL.
  Status stop(const std::string& task_id, std::chrono::milliseconds grace);
  // Out of rotation, endpoints withdrawn and detached; once.
  void teardown(const std::string& task_id, TaskRecord& record);

 private:
  TaskNetworks& networks_;
  runtime::TaskRuntime& runtime_;
  TaskRotation& plane_;
};

}  // namespace shoal::agent
