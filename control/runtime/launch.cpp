#include "control/runtime/launch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <vector>

#include "common/spawn_attributes.h"
#include "control/runtime/process.h"

namespace shoal::runtime {
namespace {

constexpr int kReportFd = 3;

using SpawnSetup = SpawnAttributes;

// The shim starts in a session of its own, with no blocked signals and default dispositions
// (the agent's would otherwise be inherited), stdin from /dev/null, its own output to shim.log
// and the report pipe as fd 3.
void configure(SpawnSetup& setup, const TaskPaths& paths, int report_fd) {
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, paths.shim_log().c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  // glibc clears close-on-exec when the pipe already is fd 3 (dup2 to itself).
  posix_spawn_file_actions_adddup2(&setup.actions, report_fd, kReportFd);
}

// Reads the shim's one-line report until it closes the pipe or time runs out.
Result<std::string> read_report(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string text;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return sys_error("wait for", "task shim", ready == 0 ? ETIMEDOUT : errno);
    }
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return text;
    }
    text.append(buf, static_cast<size_t>(n));
  }
}

// The shim's "error\tERRNO\tOP\tOBJECT\tDETAIL" line, as the Error it was.
Error parse_error(const std::string& report) {
  std::vector<std::string> fields;
  std::istringstream in(report.substr(0, report.find('\n')));
  for (std::string field; std::getline(in, field, '\t');) {
    fields.push_back(field);
  }
  fields.resize(5);
  int errnum = 0;
  std::istringstream(fields[1]) >> errnum;
  return Error{fields[2], fields[3], errnum, fields[4]};
}

Result<LaunchedShim> confirm(const std::string& report, const TaskPaths& paths, pid_t pid,
                             UniqueFd shim) {
  if (report.rfind("error\t", 0) == 0) {
    return parse_error(report);
  }
  if (report != "ok\n") {
    return Error{"read report of", "task shim", 0, "it ended without one (see shim.log)"};
  }
  SHOAL_ASSIGN_OR_RETURN(const std::string text, read_file(paths.pid()));
  SHOAL_ASSIGN_OR_RETURN(const PidRecord pids, decode_pids(text));
  if (pids.shim.pid != pid) {
    return Error{"read", paths.pid(), 0, "it names another shim"};
  }
  return LaunchedShim{pids, std::move(shim)};
}

}  // namespace

Result<LaunchedShim> launch_shim(const std::string& shim_path, const TaskPaths& paths,
                                 std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return sys_error("create", "report pipe", errno);
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  SpawnSetup setup;
  configure(setup, paths, write_end.get());
  std::string fd_text = std::to_string(kReportFd);
  std::string path = shim_path;
  std::string flag = "--report-fd";
  std::string dir = paths.dir;
  char* argv[] = {path.data(), flag.data(), fd_text.data(), dir.data(), nullptr};
  char* envp[] = {nullptr};
  pid_t pid = 0;
  if (int err = ::posix_spawn(&pid, path.c_str(), &setup.actions, &setup.attr, argv, envp)) {
    return sys_error("spawn", shim_path, err);
  }
  write_end.reset();
  // Our child cannot be reused before we reap it, so this pidfd surely names the shim.
  UniqueFd shim(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  Result<std::string> report = read_report(read_end.get(), timeout);
  Result<LaunchedShim> launched =
      report.ok() ? confirm(*report, paths, pid, std::move(shim)) : std::move(report).error();
  if (!launched.ok()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return launched;
}

}  // namespace shoal::runtime
