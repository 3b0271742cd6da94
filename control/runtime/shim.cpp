#include "control/runtime/shim.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <sstream>
#include <thread>

#include "common/atomic_file.h"
#include "common/unique_fd.h"
#include "control/runtime/cgroup.h"
#include "control/runtime/oci/rootfs_mount.h"
#include "control/runtime/oci/runc.h"
#include "control/runtime/process.h"
#include "control/runtime/task_files.h"
#include "control/runtime/task_init.h"

namespace shoal::runtime {
namespace {

constexpr std::array kIgnoredSignals = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void report(int fd, std::string line) {
  line += "\n";
  // Best effort: a runtime that went away no longer needs to know.
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
}

// "error\tERRNO\tOP\tOBJECT\tDETAIL": the fields of the Error, so that start() returns it whole.
void report_error(int fd, const Error& error) {
  std::string line = "error\t" + std::to_string(error.errnum);
  for (std::string field : {error.op, error.object, error.detail}) {
    for (char& c : field) {
      c = c == '\n' || c == '\t' ? ' ' : c;
    }
    line += "\t" + field;
  }
  report(fd, line);
}

Status enter_netns(const std::string& path) {
  if (path.empty()) {
    return {};
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return sys_error("open netns", path, errno);
  }
  if (::setns(fd.get(), CLONE_NEWNET) != 0) {
    return sys_error("enter netns", path, errno);
  }
  return {};
}

// execvpe would search the shim's PATH; the task's own PATH is the one that should count.
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  std::string path = kDefaultPath;
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) {
      path = entry.substr(5);
    }
  }
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return sys_error("exec", name, ENOENT, "not in PATH " + path);
}

Result<UniqueFd> open_log(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0640));
  if (!fd.valid()) {
    return sys_error("open", path, errno);
  }
  return fd;
}

Result<TaskLaunch> prepare(const TaskPaths& paths, const ShimSpec& spec) {
  if (spec.argv.empty()) {
    return invalid_argument("task argv", "empty");
  }
  TaskLaunch launch;
  launch.argv = spec.argv;
  launch.env = spec.env;
  launch.workdir = spec.workdir;
  launch.task_cgroup = spec.task_cgroup;
  launch.hostname = spec.hostname;
  launch.view = TaskView{spec.resolv_conf, spec.hosts, spec.files, spec.hidden};
  SHOAL_ASSIGN_OR_RETURN(launch.executable, find_executable(spec.argv[0], spec.env));
  SHOAL_ASSIGN_OR_RETURN(launch.stdin_fd, open_log("/dev/null", O_RDONLY));
  const int log_flags = O_WRONLY | O_CREAT | O_APPEND;
  SHOAL_ASSIGN_OR_RETURN(launch.stdout_fd, open_log(paths.stdout_log(), log_flags));
  SHOAL_ASSIGN_OR_RETURN(launch.stderr_fd, open_log(paths.stderr_log(), log_flags));
  return launch;
}

struct Started {
  StartedTask task;
  std::string task_cgroup;
  bool image = false;  // the task is a container: its init is the task, no status pipe
};

// An image task: the overlay root on <task dir>/rootfs, then `runc run --detach` of the bundle
// the runtime wrote (config.json) with the task's log files as its stdout and stderr. The
// container's init is re-parented to us (the child subreaper) when runc exits. The mount stays
// with the task until the runtime's remove(); on an error it goes, with runc's state.
Result<StartedTask> start_container(const TaskPaths& paths, const ShimSpec& spec) {
  const ShimImage& image = *spec.image;
  SHOAL_ASSIGN_OR_RETURN(oci::RootfsMount rootfs, oci::RootfsMount::mount(image.lower, paths.dir));
  SHOAL_ASSIGN_OR_RETURN(UniqueFd out, open_log(paths.stdout_log(), O_WRONLY | O_CREAT | O_APPEND));
  SHOAL_ASSIGN_OR_RETURN(UniqueFd err, open_log(paths.stderr_log(), O_WRONLY | O_CREAT | O_APPEND));
  oci::Runc runc({image.runc, image.runc_root});
  const std::string id = paths.dir.substr(paths.dir.rfind('/') + 1);
  Result<pid_t> pid = runc.run_detached(id, paths.dir, {-1, out.get(), err.get()});
  if (!pid.ok()) {
    [[maybe_unused]] Status deleted = runc.delete_container(id, true);
    return std::move(pid).error();
  }
  rootfs.leave_mounted();
  StartedTask task;
  task.init = *pid;
  task.task = *pid;
  return task;
}

Result<Started> start_task(const TaskPaths& paths) {
  SHOAL_ASSIGN_OR_RETURN(const std::string text, read_file(paths.spec()));
  SHOAL_ASSIGN_OR_RETURN(const ShimSpec spec, decode_spec(text));
  SHOAL_TRY(join_cgroup(spec.shim_cgroup));
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return sys_error("become subreaper", "shim", errno);
  }
  if (spec.image) {
    // runc joins the task's netns by path (config.json); the shim needs none.
    SHOAL_ASSIGN_OR_RETURN(StartedTask task, start_container(paths, spec));
    return Started{std::move(task), spec.task_cgroup, true};
  }
  SHOAL_TRY(enter_netns(spec.netns));
  SHOAL_ASSIGN_OR_RETURN(TaskLaunch launch, prepare(paths, spec));
  SHOAL_ASSIGN_OR_RETURN(StartedTask task, start_task_in_namespaces(launch));
  return Started{std::move(task), spec.task_cgroup, false};
}

// Reaps children until the task's init has exited and nothing the task left behind remains;
// returns the init's wait status (nullopt if it was somehow reaped elsewhere).
std::optional<int> wait_for_init(pid_t init, const std::string& task_cgroup) {
  std::optional<int> task_status;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) {
      continue;
    }
    if (pid < 0) {
      return task_status;  // ECHILD: nothing left (the task was reaped before)
    }
    if (pid == init) {
      task_status = status;
      break;
    }
  }
  // The task is over: what it left behind goes too, as when a container's init exits.
  if (Status killed = kill_cgroup(task_cgroup); !killed.ok()) {
    std::fprintf(stderr, "shoal-task-shim: %s\n", killed.error().message().c_str());
  }
  [[maybe_unused]] Status empty = wait_cgroup_empty(task_cgroup, std::chrono::seconds(5));
  // The task's processes die with its PID namespace's init; should any have reached us (we
  // are a subreaper), reap them before leaving.
  for (int idle = 0; idle < 200;) {
    const pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid < 0 && errno != EINTR) {
      break;
    }
    if (pid == 0) {
      ++idle;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return task_status;
}

}  // namespace

int run_shim(const std::string& task_dir, int report_fd) {
  ::fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  ::setsid();  // already a session leader when spawned by the runtime; fine either way
  for (int sig : kIgnoredSignals) {
    ::signal(sig, SIG_IGN);
  }
  const TaskPaths paths{task_dir};
  Result<Started> task = start_task(paths);
  if (!task.ok()) {
    report_error(report_fd, task.error());
    return 1;
  }
  const pid_t pid = task->task.task;
  const ProcessId task_id{pid, process_start_time(pid).value_or(0)};
  if (Status written = write_file_atomically(paths.pid(), encode_pids({self_process_id(), task_id}),
                                             0644, Durability::kAtomicOnly);
      !written.ok()) {
    report_error(report_fd, written.error());
    ::kill(task->task.init, SIGKILL);
    wait_for_init(task->task.init, task->task_cgroup);
    return 1;
  }
  report(report_fd, "ok");
  ::close(report_fd);
  const std::optional<int> init_status = wait_for_init(task->task.init, task->task_cgroup);
  // A container's init is the task itself; a process task's init passes the task's status on.
  ExitRecord exit;
  if (init_status) {
    exit = exit_from_wait_status(
        task->image ? *init_status : task_wait_status(task->task.status.get(), *init_status));
  }
  if (Status written =
          write_file_atomically(paths.exit(), encode_exit(exit), 0644, Durability::kAtomicOnly);
      !written.ok()) {
    std::fprintf(stderr, "shoal-task-shim: %s\n", written.error().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace shoal::runtime
