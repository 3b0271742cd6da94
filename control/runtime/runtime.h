// The task runtime of one node: starts a task's process in a network namespace with its own
// mount namespace, in a cgroup under <cgroup2>/shoal/<node>/, keeps its stdout and stderr, stops
// it (SIGTERM, grace, SIGKILL of its whole cgroup) and reports how it ended.
//
// Every task is kept by a shoal-task-shim process (see shim.h), and everything about it is in
// files under <state_dir>/tasks/<id>/ (see task_files.h). Tasks therefore outlive the Runtime
// object and the agent process: Runtime::open() adopts the tasks it finds there, running or
// exited meanwhile. Destroying a Runtime leaves its tasks running.
//
// Thread-safe: every call takes one mutex; stop() releases it while it waits. One Runtime per
// state directory at a time (open() tidies up half-started tasks it finds).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/runtime/task_runtime.h"

namespace shoal::runtime {

struct RuntimeConfig {
  std::string node;         // scopes the cgroups: <cgroup_root>/shoal/<node>/
  std::string state_dir;    // tasks under <state_dir>/tasks/<id>/
  std::string shim_path;    // empty: shoal-task-shim next to the running executable
  std::string cgroup_root;  // cgroup2 mount point; empty: found, or mounted, by ensure_cgroup2()
  std::chrono::milliseconds start_timeout{10000};  // for the shim's report
  // Absolute paths no task may see (the node's state dir, with its keys and sockets): each is
  // covered by an empty read-only tmpfs in every task's mount namespace. state_dir always is.
  std::vector<std::string> hidden_paths{};
  // The OCI runtime that runs image tasks (TaskSpec::image); its state is node-scoped, under
  // <state_dir>/runc. Image tasks' cgroups are /shoal/<node>/<id>/task in every hierarchy:
  // cgroup_root must be the cgroup2 mount runc uses (the default finds it).
  std::string runc_path = "/usr/sbin/runc";
};

// The task runtime (TaskRuntime): a task is a process of the node's own files, or, given an
// image (TaskSpec::image), a container run by runc from the shim (see README.md).
class Runtime final : public TaskRuntime {
 public:
  // Creates the state and cgroup directories as needed and adopts the tasks already there.
  static Result<Runtime> open(RuntimeConfig config);

  Runtime(Runtime&&) noexcept;
  Runtime& operator=(Runtime&&) noexcept;
  ~Runtime() override;  // leaves the tasks running

  // Starts a task and returns once it has exec'd. Errors (an id in use, empty argv, a missing
  // netns or executable, ...) leave nothing behind: no directory, cgroup or process.
  Result<TaskStatus> start(const TaskSpec& spec) override;
  // SIGTERM to the task's main process; after grace, SIGKILL to everything in its cgroup.
  // Returns once every process of the task is gone. Stopping an exited task is a no-op.
  Status stop(const std::string& id, std::chrono::milliseconds grace) override;
  // Forgets an exited task: deletes its cgroup and its directory, logs included.
  Status remove(const std::string& id) override;
  // The status of every known task, by id. Does not block.
  std::vector<TaskStatus> list() override;
  Result<TaskStatus> status(const std::string& id) override;
  // The last max_bytes of the task's stdout and of its stderr.
  Result<TaskLogs> logs(const std::string& id, size_t max_bytes) override;

 private:
  struct State;
  explicit Runtime(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace shoal::runtime
