// What runs a task for the agent's executor (control/agent/executor): this folder's process
// runtime (runtime.h) today, an OCI runtime for container images beside it next (#20), and
// fakes in the agent's unit tests. A task is named by its id; it outlives the agent, so a
// runtime opened again adopts what it finds running.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::runtime {

// A file that appears, read-only, at `target` inside the task's mount namespace (a config).
struct TaskFile {
  std::string content;
  std::string target;  // absolute, not under /dev, /proc or /sys; its directory must exist on the
                       // node (or on the task's own /run or /tmp)
  uint32_t mode = 0444;
};

// What makes a task an image task: its root file system is the image's, run by an OCI runtime
// (runc) instead of the node's own files. The process is still TaskSpec's argv, env and workdir,
// which the caller has merged from the image config and the service (control/images/
// container_config.h), as it has resolved the user to numbers through the image's passwd/group.
struct ImageSpec {
  std::string rootfs;  // the unpacked image root (absolute; read-only, shared, never written)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids{};
  int stop_signal = 15;  // the image's or service's StopSignal, sent by stop() (SIGTERM default)
  bool readonly_rootfs = false;  // `--read-only`
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
  // Set: the task runs in the image's root file system through runc (an image task; it needs a
  // netns). Unset: a process of the node's own files, as before.
  std::optional<ImageSpec> image{};
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

class TaskRuntime {
 public:
  virtual ~TaskRuntime() = default;

  // Starts a task and returns once it runs. An error leaves nothing behind.
  virtual Result<TaskStatus> start(const TaskSpec& spec) = 0;
  // SIGTERM to the task; after grace, SIGKILL to all of it. Returns once it is gone; stopping an
  // exited task is a no-op.
  virtual Status stop(const std::string& id, std::chrono::milliseconds grace) = 0;
  // Forgets an exited task, its output included; one still running is refused with EBUSY.
  virtual Status remove(const std::string& id) = 0;
  // Every known task, running or exited. Does not block.
  virtual std::vector<TaskStatus> list() = 0;
  virtual Result<TaskStatus> status(const std::string& id) = 0;
  // The last max_bytes of the task's stdout and of its stderr.
  virtual Result<TaskLogs> logs(const std::string& id, size_t max_bytes) = 0;
};

}  // namespace shoal::runtime
