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
};

// A file that appears, read-only, at `target` inside the task's mount namespace (a config).
struct TaskFile {
  std::string content;
  std::string target;  // absolute, not under /dev, /proc or /sys; its directory must exist on the
                       // node (or on the task's own /run or /tmp)
  uint32_t mode = 0444;
};

struct TaskSpec {
  std::string id;  // [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 characters
  std::vector<std::string> argv;
  std::vector<std::string> env;  // exactly the task's environment, "NAME=value"
  std::string workdir = "/";
  std::string netns;        // a name under /run/netns or a path; empty: the caller's namespace
  std::string resolv_conf;  // content of the task's /etc/resolv.conf; empty: the host's
  std::string hostname;     // set in a UTS namespace of the task's own; empty: the host's
  std::string hosts;        // content of /etc/hosts; empty: generated when hostname is set
  std::vector<TaskFile> files;
};

enum class TaskPhase { kRunning, kExited };

struct TaskStatus {
  std::string id;
  TaskPhase phase = TaskPhase::kRunning;
  int pid = 0;                   // of the task's main process
  std::optional<int> exit_code;  // exited normally
  std::optional<int> signal;     // killed by this signal (neither set: how it ended is unknown)
  std::string cgroup;            // the cgroup directory the task's processes are in
};

struct TaskLogs {
  std::string out;  // tail of stdout
  std::string err;  // tail of stderr
};

class Runtime {
 public:
  // Creates the state and cgroup directories as needed and adopts the tasks already there.
  static Result<Runtime> open(RuntimeConfig config);

  Runtime(Runtime&&) noexcept;
  Runtime& operator=(Runtime&&) noexcept;
  ~Runtime();  // leaves the tasks running

  // Starts a task and returns once it has exec'd. Errors (an id in use, empty argv, a missing
  // netns or executable, ...) leave nothing behind: no directory, cgroup or process.
  Result<TaskStatus> start(const TaskSpec& spec);
  // SIGTERM to the task's main process; after grace, SIGKILL to everything in its cgroup.
  // Returns once every process of the task is gone. Stopping an exited task is a no-op.
  Status stop(const std::string& id, std::chrono::milliseconds grace);
  // Forgets an exited task: deletes its cgroup and its directory, logs included.
  Status remove(const std::string& id);
  // The status of every known task, by id. Does not block.
  std::vector<TaskStatus> list();
  Result<TaskStatus> status(const std::string& id);
  // The last max_bytes of the task's stdout and of its stderr.
  Result<TaskLogs> logs(const std::string& id, size_t max_bytes);

 private:
  struct State;
  explicit Runtime(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace shoal::runtime
