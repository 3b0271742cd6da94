#include "common/crash_report.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace shoal {
namespace {

struct Death {
  int signal = 0;  // the signal that ended the child, 0 if it exited
  std::string stderr_text;
};

// Runs `crash` in a child with the handler installed; what it wrote to stderr and how it died.
template <typename Crash>
Death crash_in_child(Crash crash) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0)
    return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    report_crashes("crash-test");
    crash();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  Death death;
  char buffer[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;)
    death.stderr_text.append(buffer, static_cast<size_t>(got));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    death.signal = WTERMSIG(status);
  return death;
}

// A write through a null pointer the compiler cannot see is null (nor drop as undefined).
[[gnu::noinline]] void fault() {
  volatile int* volatile nowhere = nullptr;
  *nowhere = 1;
}

TEST(CrashReport, ASegfaultWritesTheStackAndStillEndsTheProcessByTheSignal) {
  auto death = crash_in_child([] { fault(); });
  EXPECT_EQ(death.signal, SIGSEGV);
  EXPECT_NE(death.stderr_text.find("crash-test: fatal signal SEGV, the failing thread's stack:"),
            std::string::npos)
      << death.stderr_text;
  // backtrace_symbols_fd writes one line per frame, each with its address in brackets.
  EXPECT_GE(std::count(death.stderr_text.begin(), death.stderr_text.end(), '['), 3)
      << death.stderr_text;
}

TEST(CrashReport, AnAbortIsReportedToo) {
  auto death = crash_in_child([] { std::abort(); });
  EXPECT_EQ(death.signal, SIGABRT);
  EXPECT_NE(death.stderr_text.find("fatal signal ABRT"), std::string::npos) << death.stderr_text;
}

TEST(CrashReport, AProcessThatDoesNotCrashWritesNothing) {
  auto death = crash_in_child([] {});
  EXPECT_EQ(death.signal, 0);
  EXPECT_EQ(death.stderr_text, "");
}

}  // namespace
}  // namespace shoal
