#include "control/runtime/shim.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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
#include "control/runtime/process.h"
#include "control/runtime/task_files.h"
#include "control/runtime/task_mounts.h"

namespace shoal::runtime {
namespace {

constexpr std::array kIgnoredSignals = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What the task child sends back when it cannot exec: which step failed and errno.
struct ChildFailure {
  int step = 0;
  int err = 0;
};
enum ChildStep { kJoinCgroup = 1, kChdir, kRedirect, kExec };

// The files and descriptors the task child needs, prepared before fork.
struct Launch {
  std::string executable;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string workdir;
  std::string task_cgroup;
  UniqueFd stdin_fd, stdout_fd, stderr_fd;
};

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

Status bind_file(const std::string& source, const std::string& target) {
  if (!source.empty() && ::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return sys_error("bind " + source + " over", target, errno);
  }
  return {};
}

// A mount namespace of the task's own, so that its /etc files are not the host's.
Status private_mounts(const ShimSpec& spec) {
  const int flags = CLONE_NEWNS | (spec.hostname.empty() ? 0 : CLONE_NEWUTS);
  if (::unshare(flags) != 0) {
    return sys_error("unshare", "mount namespace", errno);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return sys_error("make private", "/", errno);
  }
  SHOAL_TRY(bind_file(spec.resolv_conf, "/etc/resolv.conf"));
  SHOAL_TRY(bind_file(spec.hosts, "/etc/hosts"));
  SHOAL_TRY(mount_task_files(spec.files, spec.mounts_dir));
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    return sys_error("set hostname", spec.hostname, errno);
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

Result<Launch> prepare(const TaskPaths& paths, const ShimSpec& spec) {
  if (spec.argv.empty()) {
    return invalid_argument("task argv", "empty");
  }
  Launch launch;
  launch.argv = spec.argv;
  launch.env = spec.env;
  launch.workdir = spec.workdir;
  launch.task_cgroup = spec.task_cgroup;
  SHOAL_ASSIGN_OR_RETURN(launch.executable, find_executable(spec.argv[0], spec.env));
  SHOAL_ASSIGN_OR_RETURN(launch.stdin_fd, open_log("/dev/null", O_RDONLY));
  const int log_flags = O_WRONLY | O_CREAT | O_APPEND;
  SHOAL_ASSIGN_OR_RETURN(launch.stdout_fd, open_log(paths.stdout_log(), log_flags));
  SHOAL_ASSIGN_OR_RETURN(launch.stderr_fd, open_log(paths.stderr_log(), log_flags));
  return launch;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void fail_child(int pipe_fd, ChildStep step) {
  const ChildFailure failure{step, errno};
  [[maybe_unused]] ssize_t n = ::write(pipe_fd, &failure, sizeof failure);
  ::_exit(127);
}

// In the forked child: become the task.
[[noreturn]] void exec_task(Launch& launch, int pipe_fd) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : kIgnoredSignals) {
    ::signal(sig, SIG_DFL);  // ignored dispositions would survive exec
  }
  ::umask(022);  // a container's usual umask; shoald's own 077 must not reach the task
  if (!join_cgroup(launch.task_cgroup).ok()) {
    fail_child(pipe_fd, kJoinCgroup);
  }
  if (::chdir(launch.workdir.c_str()) != 0) {
    fail_child(pipe_fd, kChdir);
  }
  if (::dup2(launch.stdin_fd.get(), 0) < 0 || ::dup2(launch.stdout_fd.get(), 1) < 0 ||
      ::dup2(launch.stderr_fd.get(), 2) < 0) {
    fail_child(pipe_fd, kRedirect);
  }
  std::vector<char*> argv = c_strings(launch.argv);
  std::vector<char*> envp = c_strings(launch.env);
  ::execve(launch.executable.c_str(), argv.data(), envp.data());
  fail_child(pipe_fd, kExec);
}

Error child_error(const Launch& launch, const ChildFailure& failure) {
  switch (failure.step) {
    case kJoinCgroup:
      return sys_error("join cgroup", launch.task_cgroup, failure.err);
    case kChdir:
      return sys_error("chdir", launch.workdir, failure.err);
    case kRedirect:
      return sys_error("redirect", "stdio", failure.err);
    default:
      return sys_error("exec", launch.executable, failure.err);
  }
}

// Forks the task; returns its pid once it has exec'd.
Result<pid_t> fork_task(Launch& launch) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return sys_error("create", "exec pipe", errno);
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return sys_error("fork", "task", errno);
  }
  if (pid == 0) {
    exec_task(launch, write_end.get());
  }
  write_end.reset();
  ChildFailure failure;
  ssize_t n;
  do {
    n = ::read(read_end.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    return pid;  // the pipe closed on exec
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return n == sizeof failure ? child_error(launch, failure)
                             : sys_error("read", "exec pipe", n < 0 ? errno : EIO);
}

struct Started {
  pid_t pid = 0;
  std::string task_cgroup;
};

Result<Started> start_task(const TaskPaths& paths) {
  SHOAL_ASSIGN_OR_RETURN(const std::string text, read_file(paths.spec()));
  SHOAL_ASSIGN_OR_RETURN(const ShimSpec spec, decode_spec(text));
  SHOAL_TRY(join_cgroup(spec.shim_cgroup));
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return sys_error("become subreaper", "shim", errno);
  }
  SHOAL_TRY(enter_netns(spec.netns));
  SHOAL_TRY(private_mounts(spec));
  SHOAL_ASSIGN_OR_RETURN(Launch launch, prepare(paths, spec));
  SHOAL_ASSIGN_OR_RETURN(const pid_t pid, fork_task(launch));
  return Started{pid, spec.task_cgroup};
}

// Reaps children until the task has exited and nothing it left behind remains; returns the
// task's wait status (nullopt if it was somehow reaped elsewhere).
std::optional<int> wait_for_task(pid_t task, const std::string& task_cgroup) {
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
    if (pid == task) {
      task_status = status;
      break;
    }
  }
  // The task is over: what it left behind goes too, as when a container's init exits.
  if (Status killed = kill_cgroup(task_cgroup); !killed.ok()) {
    std::fprintf(stderr, "shoal-task-shim: %s\n", killed.error().message().c_str());
  }
  [[maybe_unused]] Status empty = wait_cgroup_empty(task_cgroup, std::chrono::seconds(5));
  // Killed orphans are our children (we are their subreaper): reap them before leaving.
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
  const ProcessId task_id{task->pid, process_start_time(task->pid).value_or(0)};
  if (Status written = write_file_atomically(paths.pid(), encode_pids({self_process_id(), task_id}),
                                             0644, Durability::kAtomicOnly);
      !written.ok()) {
    report_error(report_fd, written.error());
    ::kill(task->pid, SIGKILL);
    wait_for_task(task->pid, task->task_cgroup);
    return 1;
  }
  report(report_fd, "ok");
  ::close(report_fd);
  const std::optional<int> status = wait_for_task(task->pid, task->task_cgroup);
  const ExitRecord exit = status ? exit_from_wait_status(*status) : ExitRecord{};
  if (Status written =
          write_file_atomically(paths.exit(), encode_exit(exit), 0644, Durability::kAtomicOnly);
      !written.ok()) {
    std::fprintf(stderr, "shoal-task-shim: %s\n", written.error().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace shoal::runtime
