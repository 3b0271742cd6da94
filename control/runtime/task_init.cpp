#include "control/runtime/task_init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "control/runtime/cgroup.h"
#include "control/runtime/confine.h"

namespace shoal::runtime {
namespace {

// One datagram on the start channel, from the init or the task to the shim.
struct ChildMessage {
  enum Kind : int { kStarted = 1, kFailed };
  int kind = 0;
  int err = 0;
  char op[128]{};
  char object[384]{};
  char detail[256]{};
};

void send_message(int channel, const ChildMessage& message) {
  [[maybe_unused]] ssize_t n = ::send(channel, &message, sizeof message, MSG_NOSIGNAL);
}

[[noreturn]] void fail(int channel, const Error& error) {
  ChildMessage message{ChildMessage::kFailed, error.errnum, {}, {}, {}};
  std::snprintf(message.op, sizeof message.op, "%s", error.op.c_str());
  std::snprintf(message.object, sizeof message.object, "%s", error.object.c_str());
  std::snprintf(message.detail, sizeof message.detail, "%s", error.detail.c_str());
  send_message(channel, message);
  ::_exit(127);
}

[[noreturn]] void fail(int channel, const std::string& op, const std::string& object) {
  fail(channel, sys_error(op, object, errno));
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// PID 2: becomes the task.
[[noreturn]] void exec_task(TaskLaunch& launch, int channel) {
  // The kernel attaches our credentials, with the PID as the shim's namespace numbers it.
  send_message(channel, ChildMessage{ChildMessage::kStarted, 0, {}, {}, {}});
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig)
    ::signal(sig, SIG_DFL);  // ignored dispositions would survive exec
  ::umask(022);              // a container's usual umask; shoald's own 077 must not reach the task
  if (::chdir(launch.workdir.c_str()) != 0)
    fail(channel, "chdir", launch.workdir);
  if (::dup2(launch.stdin_fd.get(), 0) < 0 || ::dup2(launch.stdout_fd.get(), 1) < 0 ||
      ::dup2(launch.stderr_fd.get(), 2) < 0)
    fail(channel, "redirect", "stdio");
  if (Status confined = confine_task(); !confined.ok())
    fail(channel, confined.error());
  std::vector<char*> argv = c_strings(launch.argv);
  std::vector<char*> envp = c_strings(launch.env);
  ::execve(launch.executable.c_str(), argv.data(), envp.data());
  fail(channel, "exec", launch.executable);
}

// Closes every descriptor from 3 up except those kept: the shim's report pipe above all, whose
// end tells the runtime the start is over (the init never execs, so close-on-exec is no help).
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd >= static_cast<int>(from)) {
      if (fd > static_cast<int>(from))
        ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0u);
      from = static_cast<unsigned>(fd) + 1;
    }
  }
  ::syscall(SYS_close_range, from, ~0u, 0u);
}

// PID 1 of the task's namespace.
[[noreturn]] void run_init(TaskLaunch& launch, int channel, int status_fd) {
  close_all_but(
      {channel, status_fd, launch.stdin_fd.get(), launch.stdout_fd.get(), launch.stderr_fd.get()});
  if (Status joined = join_cgroup(launch.task_cgroup); !joined.ok())
    fail(channel, joined.error());
  // The cgroup namespace is rooted at the task's cgroup: joined first.
  const int flags =
      CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWCGROUP | (launch.hostname.empty() ? 0 : CLONE_NEWUTS);
  if (::unshare(flags) != 0)
    fail(channel, "unshare", "mount, IPC and cgroup namespaces");
  if (!launch.hostname.empty() &&
      ::sethostname(launch.hostname.data(), launch.hostname.size()) != 0)
    fail(channel, "set hostname", launch.hostname);
  if (Status built = build_task_view(launch.view); !built.ok())
    fail(channel, built.error());
  const pid_t task = ::fork();
  if (task < 0)
    fail(channel, "fork", "task");
  if (task == 0)
    exec_task(launch, channel);
  ::close(channel);
  launch.stdin_fd.reset();
  launch.stdout_fd.reset();
  launch.stderr_fd.reset();
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid == task) {
      [[maybe_unused]] ssize_t n = ::write(status_fd, &status, sizeof status);
      ::_exit(0);  // the kernel now kills the rest of the namespace
    }
    if (pid < 0 && errno != EINTR)
      ::_exit(1);
  }
}

// One message and, with it, the sender's PID; nullopt once every sender has closed.
Result<std::optional<ChildMessage>> receive(int channel, pid_t& sender) {
  ChildMessage message;
  iovec iov{&message, sizeof message};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(ucred))> control{};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control.data();
  header.msg_controllen = control.size();
  ssize_t n;
  do {
    n = ::recvmsg(channel, &header, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return sys_error("read", "task start channel", errno);
  if (n == 0)
    return std::optional<ChildMessage>();
  if (n != sizeof message)
    return sys_error("read", "task start channel", EIO, "short message");
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      ucred creds{};
      std::memcpy(&creds, CMSG_DATA(c), sizeof creds);
      sender = creds.pid;
    }
  }
  return std::optional<ChildMessage>(message);
}

// Waits for the task's exec: its PID, or what failed first.
Result<pid_t> await_exec(int channel) {
  pid_t task = 0;
  for (;;) {
    pid_t sender = 0;
    SHOAL_ASSIGN_OR_RETURN(const std::optional<ChildMessage> message, receive(channel, sender));
    if (!message)
      break;  // the task exec'd (its end is close-on-exec) and the init closed its own
    if (message->kind == ChildMessage::kFailed) {
      const std::string op(message->op, strnlen(message->op, sizeof message->op));
      const std::string object(message->object, strnlen(message->object, sizeof message->object));
      const std::string detail(message->detail, strnlen(message->detail, sizeof message->detail));
      return Error{op, object, message->err, detail};
    }
    task = sender;
  }
  if (task <= 0)
    return sys_error("start", "task", ECHILD, "its init ended before the task started");
  return task;
}

}  // namespace

Result<StartedTask> start_task_in_namespaces(TaskLaunch& launch) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return sys_error("create", "task start channel", errno);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  const int on = 1;
  if (::setsockopt(ours.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
    return sys_error("set SO_PASSCRED on", "task start channel", errno);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return sys_error("create", "task status pipe", errno);
  UniqueFd status_read(fds[0]), status_write(fds[1]);
  if (::unshare(CLONE_NEWPID) != 0)
    return sys_error("unshare", "PID namespace", errno);
  const pid_t init = ::fork();
  if (init < 0)
    return sys_error("fork", "task init", errno);
  if (init == 0) {
    ours.reset();
    status_read.reset();
    run_init(launch, theirs.get(), status_write.get());
  }
  theirs.reset();
  status_write.reset();
  Result<pid_t> task = await_exec(ours.get());
  if (!task.ok()) {
    ::kill(init, SIGKILL);
    ::waitpid(init, nullptr, 0);
    return std::move(task).error();
  }
  return StartedTask{init, *task, std::move(status_read)};
}

int task_wait_status(int status_fd, int init_status) {
  int status = 0;
  ssize_t n;
  do {
    n = ::read(status_fd, &status, sizeof status);
  } while (n < 0 && errno == EINTR);
  return n == sizeof status ? status : init_status;
}

}  // namespace shoal::runtime
