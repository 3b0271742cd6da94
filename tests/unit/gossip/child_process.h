// A child process for real-socket tests, killed (SIGKILL) and reaped by the destructor so that
// no test leaves a member running, whatever happened. Its stdout and stderr are captured and
// read line by line with deadlines, so every wait in a test is bounded. Its stdin is a pipe that
// the test may write commands to.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace shoal::gossip::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with the given arguments; aborts the test process if fork/exec fails.
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void signal(int sig);
  // Writes one line to the child's stdin (a pipe); false if it could not be written.
  bool write_line(const std::string& line);
  // Waits for the exit; nullopt on timeout. The exit code, or 128 + signal number.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Reads stdout until a line (from line number `from` on) satisfies `match` or the timeout
  // passes.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                           std::chrono::milliseconds timeout, size_t from = 0);
  // Everything read from stdout so far (lines), and all of stderr once the process exited.
  const std::vector<std::string>& lines() const { return lines_; }
  std::string stderr_text();

 private:
  void pump(std::chrono::milliseconds timeout);  // reads whatever is available

  pid_t pid_ = -1;
  int in_fd_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string partial_, err_;
  std::vector<std::string> lines_;
  std::optional<int> exit_code_;
};

}  // namespace shoal::gossip::testing
