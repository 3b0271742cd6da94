#include "control/images/tools.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/spawn_attributes.h"
#include "common/unique_fd.h"

extern char** environ;

namespace shoal::images {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

// The spawn objects (destroyed on every path) and what this file's children get.
struct SpawnSetup : SpawnAttributes {
  // stdin /dev/null, stdout and stderr to `out`, nothing else open; a new process group (so a
  // kill reaches what the program started); default signal dispositions and an empty mask
  // (the calling thread may block or ignore some).
  int prepare(int out) {
    int rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
      rc = posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
    if (rc == 0)
      rc = posix_spawn_file_actions_adddup2(&actions, out, STDERR_FILENO);
    if (rc == 0)
      rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    if (rc == 0)
      rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
      rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0)
      rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0) {
      rc = posix_spawnattr_setflags(
          &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    return rc;
  }
};

void keep_tail(std::string& output, const char* data, size_t size) {
  output.append(data, size);
  if (output.size() > 2 * kMaxToolOutput)
    output.erase(0, output.size() - kMaxToolOutput);
}

// Reads the program's output until EOF or the deadline; false at the deadline.
bool drain(int fd, Clock::time_point deadline, std::string& output) {
  char buffer[8192];
  while (true) {
    const auto left = left_until(deadline);
    if (left.count() == 0)
      return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR)
      return true;  // cannot wait on it: let waitpid decide
    if (ready <= 0)
      continue;
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0)
      return true;
    keep_tail(output, buffer, static_cast<size_t>(n));
  }
}

// Waits until the leader has exited (its output closed: it is exiting) or the deadline; false
// at the deadline. It is left a zombie (WNOWAIT), so its pid, which is the group's id, cannot be
// reused before the caller has killed the group. Polling: the wait is milliseconds.
bool wait_exit(pid_t pid, Clock::time_point deadline) {
  while (true) {
    siginfo_t info{};
    const int got = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if ((got == 0 && info.si_pid == pid) || (got < 0 && errno != EINTR))
      return true;
    if (left_until(deadline).count() == 0)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Result<ToolOutcome> run_bounded(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) {
  if (argv.empty())
    return invalid_argument("command", "empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return sys_error("pipe", argv.front(), errno);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  SpawnSetup setup;
  if (const int rc = setup.prepare(write_end.get()); rc != 0)
    return sys_error("prepare spawn of", argv.front(), rc);
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (const int rc =
          ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), environ);
      rc != 0) {
    return sys_error("spawn", argv.front(), rc);
  }
  write_end.reset();

  const auto deadline = Clock::now() + timeout;
  ToolOutcome outcome;
  const bool finished = drain(read_end.get(), deadline, outcome.output) && wait_exit(pid, deadline);
  // The whole group, the leader not yet reaped: at the limit, `ip netns exec`, skopeo and what
  // they started; after a normal exit, strays that would otherwise outlive the call.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.timed_out = !finished;
  outcome.exit_code = finished && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (outcome.output.size() > kMaxToolOutput)
    outcome.output.erase(0, outcome.output.size() - kMaxToolOutput);
  return outcome;
}

std::string tool_reason(const std::string& output) {
  constexpr size_t kMaxReason = 2000;
  std::string reason;
  const size_t msg = output.rfind("msg=\"");
  if (msg != std::string::npos) {
    for (size_t i = msg + 5; i < output.size() && output[i] != '"'; ++i) {
      if (output[i] == '\\' && i + 1 < output.size())
        ++i;
      reason += output[i];
    }
  } else {
    size_t end = output.find_last_not_of(" \t\r\n");
    if (end != std::string::npos) {
      const size_t start = output.rfind('\n', end);
      reason = output.substr(start == std::string::npos ? 0 : start + 1,
                             end - (start == std::string::npos ? 0 : start + 1) + 1);
    }
  }
  if (reason.size() > kMaxReason)
    reason = reason.substr(0, kMaxReason) + "...";
  return reason.empty() ? "no output" : reason;
}

Result<ToolOutcome> ProcessTools::copy(const CopyRequest& request) {
  std::vector<std::string> argv = prefix_;
  // One platform, and no retries: the caller's timeout bounds the whole copy, and a retry
  // only delays the reason.
  argv.insert(argv.end(), {"skopeo", "copy", "--quiet", "--retry-times", "0", "--override-os",
                           "linux", "--override-arch", "amd64"});
  if (!request.tls_verify)
    argv.push_back("--src-tls-verify=false");
  argv.push_back(request.source);
  argv.push_back("oci:" + request.layout_dir + ":" + request.layout_tag);
  return run_bounded(argv, request.timeout);
}

Result<ToolOutcome> ProcessTools::unpack(const UnpackRequest& request) {
  std::vector<std::string> argv = prefix_;
  argv.insert(argv.end(), {"umoci", "raw", "unpack", "--image",
                           request.layout_dir + ":" + request.layout_tag, request.rootfs_dir});
  return run_bounded(argv, request.timeout);
}

}  // namespace shoal::images
