#include "tests/unit/cli/run_shoal.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace shoal::cli::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::atomic<int> g_run_counter{0};

}  // namespace

ShoalProcess::ShoalProcess(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env,
                           const std::string& scratch_dir, const std::string& stdout_path) {
  int n = ++g_run_counter;
  out_path_ = scratch_dir + "/out." + std::to_string(n);
  err_path_ = scratch_dir + "/err." + std::to_string(n);

  std::vector<std::string> argv_s = {SHOAL_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    size_t eq = entry.find('=');
    merged[entry.substr(0, eq)] = eq == std::string::npos ? "" : entry.substr(eq + 1);
  }
  merged.erase("SHOAL_HOST");  // tests say where the daemon is
  for (const auto& [k, v] : env) {
    merged[k] = v;
  }
  std::vector<std::string> envp_s;
  for (const auto& [k, v] : merged) {
    envp_s.push_back(k + "=" + v);
  }
  std::vector<char*> envp;
  for (auto& e : envp_s) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_RDWR | O_NOCTTY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + argv_s[0] + " failed");
  }
}

ShoalProcess::~ShoalProcess() {
  if (!waited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string ShoalProcess::stdout_so_far() const {
  return slurp(out_path_);
}

RunResult ShoalProcess::wait(std::chrono::milliseconds timeout) {
  RunResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  waited_ = true;
  if (status != -1 && WIFEXITED(status)) {
    result.code = WEXITSTATUS(status);
  }
  result.out = slurp(out_path_);
  result.err = slurp(err_path_);
  return result;
}

RunResult run_shoal(const std::vector<std::string>& args, const std::string& scratch_dir,
                    const std::map<std::string, std::string>& env) {
  ShoalProcess process(args, env, scratch_dir);
  return process.wait();
}

}  // namespace shoal::cli::testing

namespace shoal::cli::testing {

RunResult run_shoal_tty(const std::vector<std::string>& args, const std::string& scratch_dir) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    throw std::runtime_error("no pseudo-terminal");
  }
  std::string output;
  // Drain the terminal while the CLI runs, or it blocks on a full buffer.
  std::thread reader([&] {
    char buf[4096];
    for (ssize_t n; (n = read(master, buf, sizeof buf)) > 0;) {
      output.append(buf, static_cast<size_t>(n));
    }
  });
  RunResult result;
  {
    ShoalProcess process(args, {}, scratch_dir, ptsname(master));
    result = process.wait();
  }
  // With the child gone the slave has no writer left: read() ends with EIO.
  reader.join();
  close(master);
  result.out = output;
  return result;
}

}  // namespace shoal::cli::testing
