// Runs the real `shoal` binary (SHOAL_CLI_PATH) with its output captured in files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace shoal::cli::testing {

struct RunResult {
  int code = -1;  // exit code; -1 if killed by a signal or timed out
  std::string out;
  std::string err;
};

class ShoalProcess {
 public:
  // `env` entries are added to (or replace) this process's environment.
  // `stdout_path`, when given, replaces the capture file (a terminal's slave side).
  ShoalProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               const std::string& scratch_dir, const std::string& stdout_path = "");
  ~ShoalProcess();

  pid_t pid() const { return pid_; }
  std::string stdout_so_far() const;
  // Waits for exit (killing it after `timeout`) and collects the output.
  RunResult wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
  bool waited_ = false;
};

RunResult run_shoal(const std::vector<std::string>& args, const std::string& scratch_dir,
                    const std::map<std::string, std::string>& env = {});

// The same with stdout on a pseudo-terminal, as a user at a terminal sees it.
RunResult run_shoal_tty(const std::vector<std::string>& args, const std::string& scratch_dir);

}  // namespace shoal::cli::testing
