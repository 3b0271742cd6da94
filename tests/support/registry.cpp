#include "tests/support/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <vector>

#include "common/atomic_file.h"
#include "common/close_fds.h"
#include "common/unique_fd.h"
#include "tests/support/testbed.h"
#include "tests/support/wait.h"

namespace shoal::testing {

namespace {

constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";

// No auth, deletes on, no background upload purging or health checks: nothing runs that a
// test did not ask for. The secret only signs upload state between requests.
std::string registry_config(const std::string& storage, const std::string& listen) {
  return "version: 0.1\n"
         "log:\n"
         "  level: info\n"
         "  fields:\n"
         "    service: shoal-test-registry\n"
         "storage:\n"
         "  filesystem:\n"
         "    rootdirectory: " +
         storage +
         "\n"
         "  delete:\n"
         "    enabled: true\n"
         "  maintenance:\n"
         "    uploadpurging:\n"
         "      enabled: false\n"
         "http:\n"
         "  addr: " +
         listen +
         "\n"
         "  secret: shoal-test-registry\n"
         "  headers:\n"
         "    X-Content-Type-Options: [nosniff]\n";
}

std::string last_lines(const std::string& path, size_t count) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > count)
      lines.pop_front();
  }
  std::string text;
  for (const std::string& line : lines)
    text += line + "\n";
  return text;
}

}  // namespace

Registry::Registry(std::string netns, std::string host, uint16_t port)
    : netns_(std::move(netns)), host_(std::move(host)), port_(port) {}

Registry::~Registry() {
  stop();
}

std::string Registry::address() const {
  return host_ + ":" + std::to_string(port_);
}

std::string Registry::reference(const std::string& repo_tag) const {
  return address() + "/" + repo_tag;
}

std::string Registry::log_tail(size_t lines) const {
  return dir_.path().empty() ? std::string() : last_lines(dir_.at("registry.log"), lines);
}

Status Registry::write_config() const {
  if (dir_.path().empty())
    return sys_error("make directory", "for the registry in /tmp", 0);
  if (::mkdir(dir_.at("storage").c_str(), 0700) != 0 && errno != EEXIST)
    return sys_error("mkdir", dir_.at("storage"), errno);
  return write_file_atomically(dir_.at("config.yml"),
                               registry_config(dir_.at("storage"), address()), 0600,
                               Durability::kAtomicOnly);
}

// `ip netns exec NS docker-registry serve CONFIG` in a process group of its own, output to
// registry.log, with an environment of its own (REGISTRY_* variables would override the config).
Status Registry::spawn() {
  const std::string log = dir_.at("registry.log");
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd.valid())
    return sys_error("open", log, errno);
  std::vector<std::string> argv{"/usr/bin/env",
                                "-i",
                                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                "ip",
                                "netns",
                                "exec",
                                netns_,
                                kRegistryBinary,
                                "serve",
                                dir_.at("config.yml")};
  std::vector<char*> args;
  for (std::string& arg : argv)
    args.push_back(arg.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0)
    return sys_error("fork", "docker-registry", errno);
  if (pid == 0) {
    ::setpgid(0, 0);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(log_fd.get(), STDOUT_FILENO);
    ::dup2(log_fd.get(), STDERR_FILENO);
    close_fds_from(3);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no window in which a kill misses the group
  pid_ = pid;
  return {};
}

// GET /v2/ from inside the namespace, answered with the registry's API version header. curl,
// not busybox wget: Debian 12's busybox-static 1.35 wget segfaults at start on this machine.
bool Registry::answers() const {
  auto got = run_in_ns(
      netns_,
      {"curl", "-sS", "-m", "1", "-o", "/dev/null", "-D", "-", "http://" + address() + "/v2/"},
      3000);
  return got.ok() && got->exit_code == 0 && got->output.find("registry/2.0") != std::string::npos;
}

Status Registry::start(std::chrono::milliseconds timeout) {
  if (running())
    return sys_error("start registry", address() + " in netns " + netns_, 0, "already running");
  if (::access(kRegistryBinary, X_OK) != 0)
    return sys_error("start registry", kRegistryBinary, errno,
                     "install the Debian package docker-registry");
  SHOAL_TRY(write_config());
  SHOAL_TRY(spawn());
  bool exited = false;
  const bool up = wait_until(
      [&] {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          exited = true;
          pid_ = -1;
          return true;
        }
        return answers();
      },
      timeout, std::chrono::milliseconds(100));
  if (up && !exited)
    return {};
  const std::string why = exited ? "it exited" : "GET /v2/ did not answer in time";
  stop();
  return sys_error("start registry", address() + " in netns " + netns_, 0,
                   why + "; log tail:\n" + log_tail());
}

void Registry::stop() {
  if (pid_ <= 0)
    return;
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Status Registry::push(const std::string& oci_layout_dir, const std::string& tag,
                      const std::string& repo_tag) const {
  return testing::push(netns_, oci_layout_dir, tag, reference(repo_tag));
}

Status push(const std::string& ns, const std::string& oci_layout_dir, const std::string& tag,
            const std::string& destination, int timeout_ms) {
  const std::string source = "oci:" + oci_layout_dir + ":" + tag;
  SHOAL_ASSIGN_OR_RETURN(CommandResult copied,
                         run_in_ns(ns,
                                   {"skopeo", "copy", "--quiet", "--dest-tls-verify=false", source,
                                    "docker://" + destination},
                                   timeout_ms));
  if (copied.exit_code != 0) {
    return sys_error("skopeo copy", source + " to docker://" + destination + " in netns " + ns, 0,
                     copied.exit_code < 0
                         ? "timed out after " + std::to_string(timeout_ms) + " ms: " + copied.output
                         : copied.output);
  }
  return {};
}

}  // namespace shoal::testing
