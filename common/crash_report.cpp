#include "common/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <array>

namespace shoal {

namespace {

const char* g_program = "shoal";

// Only async-signal-safe calls from here on: write(2), backtrace_symbols_fd, raise.
void write_text(const char* text) {
  size_t left = ::strlen(text);
  while (left > 0) {
    ssize_t written = ::write(STDERR_FILENO, text, left);
    if (written <= 0)
      return;
    text += written;
    left -= static_cast<size_t>(written);
  }
}

void on_fatal_signal(int signal) {
  write_text(g_program);
  write_text(": fatal signal ");
  write_text(::sigabbrev_np(signal) != nullptr ? ::sigabbrev_np(signal) : "?");
  write_text(", the failing thread's stack:\n");
  std::array<void*, 64> frames{};
  int depth = ::backtrace(frames.data(), static_cast<int>(frames.size()));
  ::backtrace_symbols_fd(frames.data(), depth, STDERR_FILENO);
  // SA_RESETHAND restored the default action: the signal ends the process as it would have.
  ::raise(signal);
}

}  // namespace

void report_crashes(const char* program) {
  g_program = program;
  // backtrace() loads libgcc on its first call, which is not safe in a handler: call it now.
  std::array<void*, 1> warm{};
  (void)::backtrace(warm.data(), 1);
  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
    ::sigaction(signal, &action, nullptr);
}

}  // namespace shoal
