#include "control/runtime/process.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

namespace shoal::runtime {
namespace {

// glibc 2.36 has no P_PIDFD in <sys/wait.h>; the kernel has had it since 5.4.
constexpr int kPidfdIdType = 3;

}  // namespace

std::optional<uint64_t> process_start_time(int pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) {
    return std::nullopt;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  for (int index = 3; index < 22 && fields >> field; ++index) {
  }
  uint64_t start = 0;
  if (!(fields >> start)) {
    return std::nullopt;
  }
  return start;
}

ProcessId self_process_id() {
  const int pid = ::getpid();
  return ProcessId{pid, process_start_time(pid).value_or(0)};
}

Result<UniqueFd> open_process(const ProcessId& id) {
  const std::string label = "pid " + std::to_string(id.pid);
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, id.pid, 0)));
  if (!fd.valid()) {
    return sys_error("open process", label, errno);
  }
  if (process_start_time(id.pid) != id.start_time) {
    return sys_error("open process", label, ESRCH, "the pid now names another process");
  }
  return fd;
}

bool has_exited(int pidfd) {
  return wait_exit(pidfd, std::chrono::milliseconds(0));
}

bool wait_exit(int pidfd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{pidfd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n > 0;
  }
}

Status signal_process(int pidfd, int signal, const std::string& label) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0 && errno != ESRCH) {
    return sys_error("signal", label, errno);
  }
  return {};
}

void reap_if_child(int pidfd) {
  siginfo_t info{};
  ::waitid(static_cast<idtype_t>(kPidfdIdType), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
}

}  // namespace shoal::runtime
