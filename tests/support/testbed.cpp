#include "tests/support/testbed.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>

#include "common/unique_fd.h"

namespace shoal::testing {

Result<CommandResult> run_command(const std::vector<std::string>& argv, int timeout_ms) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return sys_error("pipe", argv.front(), errno);
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    return sys_error("fork", argv.front(), errno);
  }
  if (pid == 0) {
    ::dup2(write_end.get(), STDOUT_FILENO);
    ::dup2(write_end.get(), STDERR_FILENO);
    ::setpgid(0, 0);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  write_end.reset();
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n <= 0)
      break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);  // the whole process group: ip netns exec and what it started
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Result<CommandResult> run_in_ns(const std::string& ns, const std::vector<std::string>& argv,
                                int timeout_ms) {
  std::vector<std::string> full{"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, timeout_ms);
}

std::vector<std::string> output_lines(const Result<CommandResult>& result) {
  std::vector<std::string> lines;
  std::istringstream in(result.ok() ? result->output : "");
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::map<std::string, int> tally(const std::vector<std::string>& lines) {
  std::map<std::string, int> counts;
  for (const std::string& line : lines) {
    ++counts[line];
  }
  return counts;
}

std::string source_path(const std::string& relative) {
  return std::string(SHOAL_SOURCE_DIR) + "/" + relative;
}

std::string build_path(const std::string& relative) {
  return std::string(SHOAL_BUILD_DIR) + "/" + relative;
}

namespace {

std::string next_run_id() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "r" + std::to_string(++counter);
}

}  // namespace

Result<std::unique_ptr<Testbed>> Testbed::create(int hosts, uint32_t mtu) {
  std::string run = next_run_id();
  SHOAL_ASSIGN_OR_RETURN(CommandResult up,
                         run_command({source_path("scripts/testbed.sh"), "up", run,
                                      std::to_string(hosts), std::to_string(mtu)},
                                     60000));
  if (up.exit_code != 0) {
    return sys_error("testbed up", run, 0, up.output);
  }
  return std::unique_ptr<Testbed>(new Testbed(run, hosts));
}

Testbed::~Testbed() {
  (void)run_command({source_path("scripts/testbed.sh"), "down", run_}, 60000);
}

std::string Testbed::host_ns(int host) const {
  return "shoal-" + run_ + "-h" + std::to_string(host);
}

Ipv4 Testbed::host_ip(int host) const {
  return Ipv4((198u << 24) | (51u << 16) | (100u << 8) | static_cast<uint32_t>(10 + host));
}

std::string Testbed::host_uplink(int host) const {
  // testbed.sh names them: the one definition of the topology.
  auto named =
      run_command({source_path("scripts/testbed.sh"), "uplink", std::to_string(host)}, 10000);
  if (!named.ok() || named->exit_code != 0)
    return {};
  std::string name = named->output;
  while (!name.empty() && (name.back() == '\n' || name.back() == ' '))
    name.pop_back();
  return name;
}

std::string Testbed::node_tag(int host) const {
  return run_ + "h" + std::to_string(host);
}

std::vector<std::string> Testbed::namespaces() const {
  std::vector<std::string> names;
  auto listed = run_command({"ip", "netns", "list"});
  if (!listed.ok())
    return names;
  std::istringstream lines(listed->output);
  std::string line;
  const std::string own = "shoal-" + run_ + "-";
  const std::string agents = "shoal-" + run_ + "h";
  while (std::getline(lines, line)) {
    std::string name = line.substr(0, line.find(' '));
    if (name.starts_with(own) || name.starts_with(agents))
      names.push_back(name);
  }
  return names;
}

void clean_stale_runs() {
  (void)run_command({source_path("scripts/testbed.sh"), "clean"}, 60000);
}

}  // namespace shoal::testing
