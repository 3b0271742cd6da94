// Starting a task in namespaces of its own, from the shim: a minimal init in a new PID
// namespace, which forks the task itself.
//
//   shim (node's PID namespace, task's netns)
//    └─ init: PID 1 of a new PID namespace; joins the task cgroup; unshares mount, IPC, cgroup
//       (and UTS) namespaces; builds the task's file system view (task_view.h)
//        └─ task: PID 2; chdir, stdio, confine (confine.h), execve
//
// Why an init and not the task as PID 1: the kernel delivers to a namespace's PID 1 only the
// signals it has a handler for, so a task like `sleep` would ignore the SIGTERM of stop(); and
// orphans of the namespace are reparented to its PID 1, which must reap them. The init does
// nothing else: it reaps, and when the task exits it hands the task's wait status to the shim
// and exits, upon which the kernel kills whatever else is left in the namespace. It holds no
// descriptor the task could use, is not dumpable (the task cannot read its memory or fds) and,
// as PID 1, ignores every signal from inside the namespace.
//
// The shim learns the task's PID in its own namespace from the kernel (SCM_CREDENTIALS on the
// start channel, translated to the receiver's namespace), so stop() signals the task itself.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/runtime/task_view.h"

namespace shoal::runtime {

// What the init and the task need, prepared before fork.
struct TaskLaunch {
  std::string executable;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string workdir;
  std::string task_cgroup;
  std::string hostname;  // empty: the node's UTS namespace
  TaskView view;
  UniqueFd stdin_fd, stdout_fd, stderr_fd;
};

struct StartedTask {
  pid_t init = 0;   // the shim's child
  pid_t task = 0;   // as seen from the shim's PID namespace
  UniqueFd status;  // read end: the task's wait status, written by the init
};

// Forks the init in a new PID namespace (the calling process's own PID namespace is unchanged,
// but every child it forks later lands in the new one). Returns once the task has exec'd, or
// the error of the step that failed, after killing and reaping the init.
Result<StartedTask> start_task_in_namespaces(TaskLaunch& launch);

// How the task ended: the status its init passed on, or else the init's own (killed along
// with the task by cgroup.kill before it could tell).
int task_wait_status(int status_fd, int init_status);

}  // namespace shoal::runtime
