// The fixture of the task runtime's tests against the real kernel: a runtime on a fresh state
// dir, cgroup and netns, and helpers to look at processes and files from the node's side.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/mounts.h"
#include "control/runtime/cgroup.h"
#include "control/runtime/runtime.h"
#include "dataplane/netns.h"
#include "tests/support/assertions.h"
#include "tests/support/temp_dir.h"

namespace shoal::runtime::test {

using namespace std::chrono_literals;

// Unique per process and per call, so that parallel runs never share a name.
inline std::string unique_name(const std::string& what) {
  static int counter = 0;
  return "rt" + std::to_string(::getpid()) + "-" + what + std::to_string(++counter);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

inline bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Live processes whose command line (or environment) holds marker. Zombies have neither.
inline std::vector<int> processes_with(const std::string& marker, const char* file = "cmdline") {
  std::vector<int> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(name) == ::getpid()) {
      continue;
    }
    std::string text = slurp(entry.path() / file);
    std::replace(text.begin(), text.end(), '\0', ' ');
    if (text.find(marker) != std::string::npos) {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

inline bool process_alive(int pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

template <typename F>
bool eventually(F&& done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class NetnsGuard {
 public:
  explicit NetnsGuard(std::string name) : name_(std::move(name)) {}
  ~NetnsGuard() { (void)dataplane::delete_named_netns(name_); }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

using testing::TempDir;

// Kills everything under a node's cgroup and removes it, whatever a test left there.
class CgroupGuard {
 public:
  explicit CgroupGuard(std::string dir) : dir_(std::move(dir)) {}
  ~CgroupGuard() {
    (void)kill_cgroup(dir_);
    (void)wait_cgroup_empty(dir_, 10s);
    remove(dir_);
    (void)::rmdir(dir_.substr(0, dir_.rfind('/')).c_str());  // shoal/, unless another node uses it
  }
  CgroupGuard(const CgroupGuard&) = delete;
  CgroupGuard& operator=(const CgroupGuard&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  static void remove(const std::string& dir) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.is_directory()) {
        remove(entry.path());
      }
    }
    ::rmdir(dir.c_str());
  }
  std::string dir_;
};

inline std::string cgroup2_root() {
  auto root = ensure_cgroup2();
  return root.ok() ? *root : std::string();
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(state_.path().empty());
    ASSERT_FALSE(workdir_.path().empty());
    ASSERT_FALSE(cgroup_root_.empty());
    ASSERT_OK(dataplane::create_named_netns(netns_.name()));
    runtime_ = open_runtime();
    ASSERT_TRUE(runtime_.has_value());
  }

  void TearDown() override {
    // Every test stops and removes what it starts: nothing of it may run on.
    runtime_.reset();
    EXPECT_TRUE(processes_with(state_.path()).empty()) << "a shim still runs";
    EXPECT_TRUE(task_processes().empty()) << "a task process still runs";
  }

  RuntimeConfig config() const {
    return RuntimeConfig{.node = node_,
                         .state_dir = state_.path(),
                         .shim_path = SHOAL_TASK_SHIM,
                         .cgroup_root = cgroup_root_};
  }

  std::optional<Runtime> open_runtime() {
    auto opened = Runtime::open(config());
    EXPECT_TRUE(opened.ok()) << opened.error().message();
    return opened.ok() ? std::optional<Runtime>(std::move(*opened)) : std::nullopt;
  }

  TaskSpec spec(const std::string& id, std::vector<std::string> argv) const {
    TaskSpec spec;
    spec.id = id;
    spec.argv = std::move(argv);
    spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SHOAL_TEST=" + node_};
    spec.workdir = workdir_.path();
    spec.netns = netns_.name();
    return spec;
  }
  TaskSpec shell(const std::string& id, const std::string& script) const {
    return spec(id, {"/bin/sh", "-c", script});
  }

  std::string task_dir(const std::string& id) const { return state_.path() + "/tasks/" + id; }
  std::string task_cgroup(const std::string& id) const { return cgroups_.dir() + "/" + id; }

  TaskStatus wait_exited(Runtime& runtime, const std::string& id) {
    TaskStatus last;
    EXPECT_TRUE(eventually([&] {
      auto status = runtime.status(id);
      last = status.ok() ? *status : TaskStatus{};
      return status.ok() && status->phase == TaskPhase::kExited;
    })) << id
        << " did not exit";
    return last;
  }

  bool wait_output(const std::string& id, const std::string& needle) {
    return eventually([&] {
      auto logs = runtime_->logs(id, 1 << 16);
      return logs.ok() && logs->out.find(needle) != std::string::npos;
    });
  }

  // The task is gone without a trace: no directory, no cgroup, no process.
  void expect_no_trace(const std::string& id) {
    EXPECT_FALSE(exists(task_dir(id))) << task_dir(id);
    EXPECT_FALSE(exists(task_cgroup(id))) << task_cgroup(id);
    EXPECT_TRUE(processes_with(task_dir(id)).empty()) << "the shim of " << id << " still runs";
  }

  // Every task gets SHOAL_TEST=<node> in its environment, and passes it on to its children.
  std::vector<int> task_processes() const {
    return processes_with("SHOAL_TEST=" + node_ + " ", "environ");
  }

  void stop_and_remove(const std::string& id) {
    ASSERT_OK(runtime_->stop(id, 2s));
    ASSERT_OK(runtime_->remove(id));
    expect_no_trace(id);
  }

  // Runs a script as a task to its end and returns what it printed, stdout then stderr.
  std::string output_of(const std::string& id, const std::string& script) {
    auto started = runtime_->start(shell(id, script));
    EXPECT_TRUE(started.ok()) << started.error().message();
    if (!started.ok()) {
      return {};
    }
    wait_exited(*runtime_, id);
    auto logs = runtime_->logs(id, 1 << 16);
    EXPECT_TRUE(runtime_->remove(id).ok());
    return logs.ok() ? logs->out + logs->err : std::string();
  }

  // Declared first, destroyed last: they clean up whatever a failed test left.
  TempDir state_{"shoal-rt"};
  // The tasks' workdir: readable by them (the state dir is hidden, /tmp is their own).
  TempDir workdir_{"shoal-rt", "/var/tmp"};
  std::string node_ = unique_name("node");
  std::string cgroup_root_ = cgroup2_root();
  CgroupGuard cgroups_{cgroup_root_ + "/shoal/" + node_};
  NetnsGuard netns_{unique_name("ns")};
  std::optional<Runtime> runtime_;
};

}  // namespace shoal::runtime::test
