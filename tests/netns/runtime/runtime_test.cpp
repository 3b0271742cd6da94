// The task runtime against the real kernel: namespaces, cgroups, processes, adoption.
#include "control/runtime/runtime.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "control/runtime/cgroup.h"
#include "control/runtime/process.h"
#include "control/runtime/task_files.h"
#include "dataplane/netns.h"
#include "ebpf/mounts.h"
#include "tests/support/assertions.h"
#include "tests/support/private_mounts.h"
#include "tests/support/testbed.h"

namespace shoal::runtime {
namespace {

using namespace std::chrono_literals;

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

// Unique per process and per call, so that parallel runs never share a name.
std::string unique_name(const std::string& what) {
  static int counter = 0;
  return "rt" + std::to_string(::getpid()) + "-" + what + std::to_string(++counter);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Live processes whose command line (or environment) holds marker. Zombies have neither.
std::vector<int> processes_with(const std::string& marker, const char* file = "cmdline") {
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

bool process_alive(int pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

template <typename F>
bool eventually(F&& done, std::chrono::milliseconds timeout = 10s) {
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

class TempDir {
 public:
  explicit TempDir(const std::string& base = "/tmp") {
    std::string pattern = base + "/shoal-rt-" + std::to_string(::getpid()) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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

std::string cgroup2_root() {
  auto root = ebpf::ensure_cgroup2();
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
  TempDir state_;
  // The tasks' workdir: readable by them (the state dir is hidden, /tmp is their own).
  TempDir workdir_{"/var/tmp"};
  std::string node_ = unique_name("node");
  std::string cgroup_root_ = cgroup2_root();
  CgroupGuard cgroups_{cgroup_root_ + "/shoal/" + node_};
  NetnsGuard netns_{unique_name("ns")};
  std::optional<Runtime> runtime_;
};

TEST_F(RuntimeTest, TaskRunsInItsNetnsMountNamespaceAndCgroup) {
  const std::string host_resolv = slurp("/etc/resolv.conf");
  TaskSpec task = shell("ns", "cat /etc/resolv.conf; hostname; echo ready; exec sleep 1000");
  task.resolv_conf = "nameserver 127.0.0.11\noptions ndots:0\n";
  task.hostname = "task-" + std::to_string(::getpid());
  auto started = runtime_->start(task);
  ASSERT_OK(started);
  ASSERT_TRUE(wait_output("ns", "ready"));
  const std::string proc = "/proc/" + std::to_string(started->pid);
  // (environ reads empty while the shell execs sleep: ask until it has.)
  EXPECT_TRUE(eventually([&] { return task_processes() == std::vector<int>{started->pid}; }));

  auto netns = dataplane::Netns::open_named(netns_.name());
  ASSERT_OK(netns);
  EXPECT_EQ(inode_of(proc + "/ns/net"), netns->inode());
  EXPECT_NE(inode_of(proc + "/ns/mnt"), inode_of("/proc/self/ns/mnt"));
  EXPECT_EQ(slurp(proc + "/root/etc/resolv.conf"), task.resolv_conf);
  EXPECT_EQ(slurp("/etc/resolv.conf"), host_resolv);
  EXPECT_NE(host_resolv, task.resolv_conf);
  auto logs = runtime_->logs("ns", 4096);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->out, task.resolv_conf + task.hostname + "\nready\n");
  EXPECT_NE(slurp(proc + "/root/etc/hosts").find(task.hostname), std::string::npos);

  const std::string cgroup = "/shoal/" + node_ + "/ns/task";
  // The v2 line; a hybrid host lists v1 hierarchies before it.
  EXPECT_NE(slurp(proc + "/cgroup").find("0::" + cgroup + "\n"), std::string::npos);
  EXPECT_EQ(started->cgroup, cgroup_root_ + cgroup);
  EXPECT_NE(slurp(started->cgroup + "/cgroup.procs").find(std::to_string(started->pid)),
            std::string::npos);
  stop_and_remove("ns");
}

TEST_F(RuntimeTest, CapturesOutputAndReportsExitCode) {
  ASSERT_OK(runtime_->start(shell("code", "echo out; echo err >&2; echo \"$SHOAL_TEST\"; exit 3")));
  const TaskStatus status = wait_exited(*runtime_, "code");
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_EQ(status.signal, std::nullopt);
  auto logs = runtime_->logs("code", 4096);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->out, "out\n" + node_ + "\n");
  EXPECT_EQ(logs->err, "err\n");
  auto tail = runtime_->logs("code", 3);
  ASSERT_OK(tail);
  EXPECT_EQ(tail->err, "rr\n");
  ASSERT_OK(runtime_->remove("code"));
  expect_no_trace("code");
}

TEST_F(RuntimeTest, ReportsDeathBySignal) {
  ASSERT_OK(runtime_->start(shell("sig", "kill -9 $$")));
  const TaskStatus status = wait_exited(*runtime_, "sig");
  EXPECT_EQ(status.signal, 9);
  EXPECT_EQ(status.exit_code, std::nullopt);
  ASSERT_OK(runtime_->remove("sig"));
  expect_no_trace("sig");
}

TEST_F(RuntimeTest, StopOfTaskThatHandlesSigtermIsQuick) {
  ASSERT_OK(runtime_->start(
      shell("term", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done")));
  ASSERT_TRUE(wait_output("term", "ready"));
  const auto before = std::chrono::steady_clock::now();
  ASSERT_OK(runtime_->stop("term", 20s));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  auto status = runtime_->status("term");
  ASSERT_OK(status);
  EXPECT_EQ(status->phase, TaskPhase::kExited);
  EXPECT_EQ(status->exit_code, 0);
  EXPECT_TRUE(wait_output("term", "bye"));
  ASSERT_OK(runtime_->remove("term"));
  expect_no_trace("term");
}

TEST_F(RuntimeTest, StopKillsTaskThatIgnoresSigtermAfterGrace) {
  ASSERT_OK(
      runtime_->start(shell("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done")));
  ASSERT_TRUE(wait_output("stubborn", "ready"));
  const auto before = std::chrono::steady_clock::now();
  ASSERT_OK(runtime_->stop("stubborn", 300ms));
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  auto status = runtime_->status("stubborn");
  ASSERT_OK(status);
  EXPECT_EQ(status->phase, TaskPhase::kExited);
  EXPECT_EQ(status->signal, 9);
  EXPECT_FALSE(cgroup_populated(status->cgroup));
  ASSERT_OK(runtime_->remove("stubborn"));
  expect_no_trace("stubborn");
}

TEST_F(RuntimeTest, ChildrenDieWithTheTask) {
  // The child leaves the task's session and process group; only the cgroup still holds it.
  ASSERT_OK(runtime_->start(
      shell("kids",
            "setsid sh -c 'trap \"\" TERM; exec sleep 1000' & echo child $!; echo ready; "
            "trap 'exit 0' TERM; while :; do sleep 0.05; done")));
  ASSERT_TRUE(wait_output("kids", "ready"));
  // ($! is a PID in the task's namespace: find both processes from here instead.)
  std::vector<int> pids;
  ASSERT_TRUE(eventually([&] { return (pids = task_processes()).size() == 2; }));
  ASSERT_OK(runtime_->stop("kids", 5s));
  for (int pid : pids) {
    EXPECT_FALSE(process_alive(pid)) << pid;
  }
  ASSERT_OK(runtime_->remove("kids"));
  expect_no_trace("kids");
}

TEST_F(RuntimeTest, LeftoversDieWhenTheTaskExitsByItself) {
  ASSERT_OK(runtime_->start(shell("orphan", "setsid sleep 1000 & echo child $!; exit 4")));
  EXPECT_EQ(wait_exited(*runtime_, "orphan").exit_code, 4);
  EXPECT_TRUE(task_processes().empty());
  ASSERT_OK(runtime_->remove("orphan"));
  expect_no_trace("orphan");
}

TEST_F(RuntimeTest, BadInputIsRefusedAndLeavesNothing) {
  auto empty = runtime_->start(spec("empty", {}));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("argv"), std::string::npos) << empty.error().message();
  expect_no_trace("empty");

  const std::string missing = "/nonexistent-" + std::to_string(::getpid());
  auto no_exe = runtime_->start(spec("noexe", {missing, "arg"}));
  ASSERT_FALSE(no_exe.ok());
  EXPECT_NE(no_exe.error().message().find(missing), std::string::npos) << no_exe.error().message();
  EXPECT_EQ(no_exe.error().errnum, ENOENT) << no_exe.error().message();
  expect_no_trace("noexe");

  auto no_path = runtime_->start(spec("nopath", {"no-such-command-" + node_}));
  ASSERT_FALSE(no_path.ok());
  EXPECT_NE(no_path.error().message().find("no-such-command-" + node_), std::string::npos)
      << no_path.error().message();
  expect_no_trace("nopath");

  TaskSpec bad_ns = shell("nons", "sleep 1000");
  bad_ns.netns = unique_name("missing-ns");
  auto no_ns = runtime_->start(bad_ns);
  ASSERT_FALSE(no_ns.ok());
  EXPECT_NE(no_ns.error().message().find(bad_ns.netns), std::string::npos)
      << no_ns.error().message();
  expect_no_trace("nons");

  TaskSpec bad_dir = shell("nodir", "sleep 1000");
  bad_dir.workdir = "/nonexistent-dir-" + node_;
  auto no_dir = runtime_->start(bad_dir);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.error().message().find(bad_dir.workdir), std::string::npos)
      << no_dir.error().message();
  expect_no_trace("nodir");

  EXPECT_FALSE(runtime_->start(shell("../escape", "true")).ok());
  EXPECT_TRUE(runtime_->list().empty());
}

TEST_F(RuntimeTest, RefusesAnIdInUse) {
  ASSERT_OK(runtime_->start(shell("dup", "exec sleep 1000")));
  auto again = runtime_->start(shell("dup", "exec sleep 1000"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().errnum, EEXIST);
  EXPECT_EQ(runtime_->list().size(), 1u);
  stop_and_remove("dup");
}

TEST_F(RuntimeTest, RemoveRefusesARunningTask) {
  ASSERT_OK(runtime_->start(shell("busy", "exec sleep 1000")));
  auto removed = runtime_->remove("busy");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().errnum, EBUSY);
  EXPECT_TRUE(exists(task_dir("busy")));
  stop_and_remove("busy");
  EXPECT_TRUE(runtime_->list().empty());
  EXPECT_FALSE(runtime_->logs("busy", 10).ok());
}

TEST_F(RuntimeTest, ANewRuntimeAdoptsRunningAndExitedTasks) {
  // "waits" exits 7 once the file "go" appears in its workdir, while no Runtime exists.
  ASSERT_OK(runtime_->start(shell("waits", "while [ ! -e go ]; do sleep 0.02; done; exit 7")));
  auto started = runtime_->start(
      shell("runs", "trap 'exit 5' TERM; echo ready; while :; do sleep 0.05; done"));
  ASSERT_OK(started);
  ASSERT_TRUE(wait_output("runs", "ready"));
  runtime_.reset();  // the agent goes away; its tasks stay

  std::ofstream(workdir_.path() + "/go").put('\n');
  ASSERT_TRUE(eventually([&] { return exists(task_dir("waits") + "/exit"); }));

  runtime_ = open_runtime();
  ASSERT_TRUE(runtime_.has_value());
  auto tasks = runtime_->list();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].id, "runs");
  EXPECT_EQ(tasks[0].phase, TaskPhase::kRunning);
  EXPECT_EQ(tasks[0].pid, started->pid);
  EXPECT_EQ(tasks[1].id, "waits");
  EXPECT_EQ(tasks[1].phase, TaskPhase::kExited);
  EXPECT_EQ(tasks[1].exit_code, 7);

  ASSERT_OK(runtime_->stop("runs", 5s));
  auto stopped = runtime_->status("runs");
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->exit_code, 5);
  ASSERT_OK(runtime_->remove("runs"));
  ASSERT_OK(runtime_->remove("waits"));
  expect_no_trace("runs");
  expect_no_trace("waits");
}

TEST_F(RuntimeTest, AdoptionTidiesAHalfStartedTask) {
  // What a start() interrupted by the agent's death leaves: a directory and cgroup, no pid file.
  ASSERT_TRUE(std::filesystem::create_directories(task_dir("half")));
  TaskCgroup cgroup{task_cgroup("half")};
  ASSERT_OK(create_task_cgroup(cgroup));
  runtime_ = open_runtime();
  ASSERT_TRUE(runtime_.has_value());
  EXPECT_TRUE(runtime_->list().empty());
  expect_no_trace("half");
}

TEST_F(RuntimeTest, TaskInTheCallersNetnsWithoutNetnsGiven) {
  TaskSpec task = shell("here", "echo ready; exec sleep 1000");
  task.netns.clear();
  auto started = runtime_->start(task);
  ASSERT_OK(started);
  ASSERT_TRUE(wait_output("here", "ready"));
  EXPECT_EQ(inode_of("/proc/" + std::to_string(started->pid) + "/ns/net"),
            inode_of("/proc/self/ns/net"));
  stop_and_remove("here");
}

TEST_F(RuntimeTest, AdoptionDoesNotTrustAReusedPid) {
  // A pid file naming this very process, with start times it does not have: the pids were
  // reused. The runtime must neither signal us nor believe the task runs.
  ASSERT_TRUE(std::filesystem::create_directories(task_dir("stale")));
  ASSERT_OK(create_task_cgroup(TaskCgroup{task_cgroup("stale")}));
  const ProcessId reused{::getpid(), 1};
  ASSERT_OK(write_file(task_dir("stale") + "/pid", encode_pids({reused, reused})));
  runtime_ = open_runtime();
  ASSERT_TRUE(runtime_.has_value());
  auto status = runtime_->status("stale");
  ASSERT_OK(status);
  EXPECT_EQ(status->phase, TaskPhase::kExited);
  EXPECT_EQ(status->exit_code, std::nullopt);
  EXPECT_EQ(status->signal, std::nullopt);
  ASSERT_OK(runtime_->stop("stale", 100ms));
  ASSERT_OK(runtime_->remove("stale"));
  expect_no_trace("stale");
}

TEST_F(RuntimeTest, ConcurrentCallsFromManyThreads) {
  constexpr int kTasks = 4;
  std::vector<std::thread> threads;
  std::atomic<bool> done{false};
  std::thread lister([&] {
    while (!done) {
      (void)runtime_->list();
    }
  });
  for (int i = 0; i < kTasks; ++i) {
    threads.emplace_back([&, i] {
      const std::string id = "many" + std::to_string(i);
      ASSERT_OK(runtime_->start(
          shell(id, "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done")));
      ASSERT_TRUE(wait_output(id, "ready"));
      ASSERT_OK(runtime_->stop(id, 5s));
      ASSERT_OK(runtime_->remove(id));
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  done = true;
  lister.join();
  EXPECT_TRUE(runtime_->list().empty());
  for (int i = 0; i < kTasks; ++i) {
    expect_no_trace("many" + std::to_string(i));
  }
}

// --- A task probing its node (SECURITY_REVIEW.md finding #2): each of these must fail. ---

// A listening unix socket, closed and unlinked on every path.
class PlantedSocket {
 public:
  explicit PlantedSocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    listening_ =
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 4) == 0;
  }
  ~PlantedSocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  PlantedSocket(const PlantedSocket&) = delete;
  PlantedSocket& operator=(const PlantedSocket&) = delete;
  bool listening() const { return listening_; }
  // Whether anyone connected (a connection waits in the backlog).
  bool was_connected() const {
    const int peer = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer >= 0) {
      ::close(peer);
    }
    return peer >= 0;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool listening_ = false;
};

TEST_F(RuntimeTest, TaskCannotReadTheNodesKeysOrUseItsSocket) {
  // What shoald keeps in its state dir: the CA key and the control socket.
  const std::string secret = "SECRET-CA-KEY-" + node_;
  ASSERT_TRUE(std::filesystem::create_directories(state_.path() + "/certificates"));
  std::ofstream(state_.path() + "/certificates/swarm-root-ca.key") << secret << "\n";
  PlantedSocket socket(state_.path() + "/shoald.sock");
  ASSERT_TRUE(socket.listening());
  const std::string out = output_of(
      "thief", "cat " + state_.path() +
                   "/certificates/swarm-root-ca.key; "
                   "perl -MIO::Socket::UNIX -e 'print IO::Socket::UNIX->new(Peer => $ARGV[0]) ? "
                   "\"connected\\n\" : \"refused: $!\\n\"' " +
                   state_.path() +
                   "/shoald.sock; "
                   "echo entries=$(ls -A " +
                   state_.path() + " | wc -l)");
  EXPECT_EQ(out.find(secret), std::string::npos) << out;
  EXPECT_EQ(out.find("connected"), std::string::npos) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_NE(out.find("entries=0"), std::string::npos) << out;
  EXPECT_FALSE(socket.was_connected());
}

TEST_F(RuntimeTest, TaskSeesNoNetnsPinsBpffsOrCgroups) {
  // A directory in the bpffs stands for the node's pinned maps and programs.
  auto bpffs = ebpf::ensure_bpffs();
  ASSERT_OK(bpffs);
  const std::string pin = *bpffs + "/" + node_;
  ASSERT_EQ(::mkdir(pin.c_str(), 0700), 0);
  const std::string node_cgroup = cgroup_root_ + "/shoal/" + node_;
  const std::string out =
      output_of("pins", "test -e " + dataplane::named_netns_path(netns_.name()) +
                            " && echo netns-visible; "
                            "test -e " +
                            pin +
                            " && echo bpffs-visible; "
                            "test -e " +
                            node_cgroup +
                            " && echo cgroup-visible; "
                            "echo netns=$(ls -A /run/netns 2>/dev/null | wc -l); "
                            "echo bpf=$(ls -A /sys/fs/bpf 2>/dev/null | wc -l); "
                            "echo cgroup=$(ls -A /sys/fs/cgroup 2>/dev/null | wc -l); "
                            "grep -c -E ' (cgroup2?|bpf|nsfs) ' /proc/self/mounts; "
                            "cat /proc/self/cgroup");
  ::rmdir(pin.c_str());
  EXPECT_EQ(out.find("-visible"), std::string::npos) << out;
  EXPECT_NE(out.find("netns=0\nbpf=0\ncgroup=0\n0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("0::/\n"), std::string::npos) << out;  // its own cgroup namespace
}

TEST_F(RuntimeTest, TaskSeesOnlyItsOwnProcesses) {
  const std::string out =
      output_of("pids", "kill -0 " + std::to_string(::getpid()) +
                            " 2>/dev/null && echo host-visible; "
                            "echo self=$$; echo procs=$(ls /proc | grep -c '^[0-9]')");
  EXPECT_EQ(out.find("host-visible"), std::string::npos) << out;
  EXPECT_NE(out.find("self=2\n"), std::string::npos) << out;  // under the init, PID 1
  // The init, the shell, its subshell and the two commands of the pipeline: nothing of the
  // node's.
  const size_t at = out.find("procs=");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_LE(std::stoi(out.substr(at + 6)), 5) << out;
}

TEST_F(RuntimeTest, TaskHasDockersCapabilitiesNoNewPrivsAndSeccomp) {
  const std::string out =
      output_of("caps",
                "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
                "/proc/self/status");
  EXPECT_EQ(out,
            "CapInh:\t00000000a80425fb\n"
            "CapPrm:\t00000000a80425fb\n"
            "CapEff:\t00000000a80425fb\n"
            "CapBnd:\t00000000a80425fb\n"
            "CapAmb:\t0000000000000000\n"
            "NoNewPrivs:\t1\n"
            "Seccomp:\t2\n");
}

TEST_F(RuntimeTest, TaskCannotMountUnshareOrLoadModules) {
  const std::string out = output_of(
      "kernel",
      "mount -t tmpfs none " + workdir_.path() +
          " 2>/dev/null; echo mount=$?; "
          "unshare --user true 2>&1; echo user=$?; "
          "unshare --net true 2>&1; echo net=$?; "
          "perl -e 'my $p = \"\"; $r = syscall(" +
          std::to_string(SYS_finit_module) +
          ", 0, $p, 0); "
          "print \"finit_module=\", ($r < 0 ? \"$!\" : \"loaded\"), \"\\n\"' 2>&1; echo perl=$?");
  EXPECT_EQ(out.find("mount=0"), std::string::npos) << out;
  EXPECT_NE(out.find("user=1"), std::string::npos) << out;
  EXPECT_NE(out.find("net=1"), std::string::npos) << out;
  EXPECT_NE(out.find("finit_module=Operation not permitted\n"), std::string::npos) << out;
}

TEST_F(RuntimeTest, SeccompRefusesTheCallsThatReachBeyondTheTask) {
  // Each called with zeroed arguments: what matters is that the filter answers first.
  const std::vector<std::pair<std::string, long>> calls = {
      {"ptrace", SYS_ptrace},
      {"bpf", SYS_bpf},
      {"keyctl", SYS_keyctl},
      {"add_key", SYS_add_key},
      {"setns", SYS_setns},
      {"perf_event_open", SYS_perf_event_open},
      {"userfaultfd", SYS_userfaultfd},
      {"io_uring_setup", SYS_io_uring_setup},
      {"open_by_handle_at", SYS_open_by_handle_at},
      {"kexec_load", SYS_kexec_load},
      {"reboot", SYS_reboot},
      {"swapoff", SYS_swapoff},
      {"pivot_root", SYS_pivot_root},
      {"fsopen", SYS_fsopen},
      {"clock_settime", SYS_clock_settime},
      {"acct", SYS_acct}};
  std::string script = "perl -e '";
  std::string expected;
  for (const auto& [name, number] : calls) {
    script += "$! = 0; syscall(" + std::to_string(number) + ", 0, 0, 0, 0, 0); print \"" + name +
              "=\", $! + 0, \"\\n\"; ";
    expected += name + "=" + std::to_string(EPERM) + "\n";
  }
  // clone3 answers ENOSYS, so that libc falls back to clone, whose flags the filter checks.
  script += "$! = 0; syscall(" + std::to_string(SYS_clone3) +
            ", 0, 0); print \"clone3=\", $! + 0, \"\\n\"'";
  expected += "clone3=" + std::to_string(ENOSYS) + "\n";
  EXPECT_EQ(output_of("calls", script), expected);
}

TEST_F(RuntimeTest, TaskCannotWriteTheNodesFilesOrReachItsDisks) {
  // Under the node's /tmp should the task see it (it must not: its /tmp is its own).
  const std::string scratch = "/tmp/shoal-rt-" + node_ + "-scratch";
  const std::string disk = "/tmp/shoal-rt-" + node_ + "-disk";
  const std::string out = output_of(
      "writer", "touch " + workdir_.path() + "/planted 2>&1; " + "echo scratch > " + scratch +
                    " && cat " + scratch + "; " + "echo devnull > /dev/null && echo devnull-ok; " +
                    "echo blockdevs=$(find /dev -type b | wc -l); " + "mknod " + disk +
                    " b 7 0 && head -c1 " + disk + " >/dev/null 2>&1 && echo disk-read; " +
                    "awk '$2 == \"/\" || $2 == \"/proc/sys\" || $2 == \"/proc/sysrq-trigger\" || "
                    "$2 == \"/sys\" { split($4, o, \",\"); print $2, o[1] }' /proc/self/mounts");
  EXPECT_FALSE(exists(scratch));
  EXPECT_FALSE(exists(disk));
  ::unlink(scratch.c_str());
  ::unlink(disk.c_str());
  EXPECT_FALSE(exists(workdir_.path() + "/planted"));
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_NE(out.find("scratch\n"), std::string::npos) << out;  // its own /tmp
  EXPECT_NE(out.find("devnull-ok\n"), std::string::npos) << out;
  EXPECT_NE(out.find("blockdevs=0\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("disk-read"), std::string::npos) << out;
  EXPECT_NE(out.find("/ ro\n"), std::string::npos) << out;
  EXPECT_NE(out.find("/proc/sys ro\n"), std::string::npos) << out;
  if (exists("/proc/sysrq-trigger")) {  // (a kernel without CONFIG_MAGIC_SYSRQ has none)
    EXPECT_NE(out.find("/proc/sysrq-trigger ro\n"), std::string::npos) << out;
  }
  EXPECT_NE(out.find("/sys ro\n"), std::string::npos) << out;
}

TEST_F(RuntimeTest, StopOfATaskWithoutASigtermHandlerIsQuick) {
  // The task runs under an init, not as PID 1: SIGTERM ends it as it would on the node.
  ASSERT_OK(runtime_->start(shell("plain", "echo ready; exec sleep 1000")));
  ASSERT_TRUE(wait_output("plain", "ready"));
  const auto before = std::chrono::steady_clock::now();
  ASSERT_OK(runtime_->stop("plain", 20s));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  auto status = runtime_->status("plain");
  ASSERT_OK(status);
  EXPECT_EQ(status->signal, SIGTERM);
  ASSERT_OK(runtime_->remove("plain"));
  expect_no_trace("plain");
}

TEST_F(RuntimeTest, HiddenPathsOfTheNodeAreEmptyForTasks) {
  // The node's state dir as the executor passes it: with a key and a mount below it.
  TempDir node_state("/var/tmp");
  ASSERT_TRUE(std::filesystem::create_directories(node_state.path() + "/manager"));
  std::ofstream(node_state.path() + "/ca.key") << "SECRET-" << node_ << "\n";
  const std::string manager = node_state.path() + "/manager";
  ASSERT_EQ(::mount("tmpfs", manager.c_str(), "tmpfs", 0, nullptr), 0);
  std::ofstream(manager + "/store.db") << "SECRET-STORE\n";
  runtime_.reset();
  RuntimeConfig hiding = config();
  hiding.hidden_paths = {node_state.path()};
  auto opened = Runtime::open(hiding);
  ASSERT_OK(opened);
  runtime_.emplace(std::move(*opened));
  const std::string out = output_of("hidden", "cat " + node_state.path() + "/ca.key " + manager +
                                                  "/store.db; "
                                                  "echo entries=$(ls -A " +
                                                  node_state.path() +
                                                  " | wc -l); "
                                                  "grep -c " +
                                                  manager + " /proc/self/mounts");
  ::umount2(manager.c_str(), MNT_DETACH);
  EXPECT_EQ(out.find("SECRET"), std::string::npos) << out;
  EXPECT_NE(out.find("entries=0\n0\n"), std::string::npos) << out;

  hiding.hidden_paths = {"relative/dir"};
  auto refused = Runtime::open(hiding);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("relative/dir"), std::string::npos);
}

TEST_F(RuntimeTest, TaskFilesAppearReadOnlyWhereverTheyGo) {
  // Over an existing file, in an existing directory, at "/" (the task's root becomes a copy)
  // and on the task's own /tmp.
  TaskSpec task = shell("files", "");
  const std::vector<std::string> targets = {"/etc/hostname", "/etc/shoal-rt-" + node_ + ".conf",
                                            "/shoal-rt-" + node_,
                                            "/tmp/shoal-rt-" + node_ + ".conf"};
  for (size_t i = 0; i < targets.size(); ++i) {
    task.files.push_back({"content " + std::to_string(i) + "\n", targets[i], 0444});
    task.argv.back() += "cat " + targets[i] + "; echo x >> " + targets[i] + " || echo refused; ";
  }
  task.argv.back() += "echo done";
  ASSERT_OK(runtime_->start(task));
  EXPECT_EQ(wait_exited(*runtime_, "files").exit_code, 0);
  auto logs = runtime_->logs("files", 4096);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->out,
            "content 0\nrefused\ncontent 1\nrefused\ncontent 2\nrefused\n"
            "content 3\nrefused\ndone\n");
  for (size_t i = 1; i < targets.size(); ++i) {
    EXPECT_FALSE(exists(targets[i])) << targets[i] << " appeared on the node";
  }
  ASSERT_OK(runtime_->remove("files"));

  TaskSpec bad = shell("badfile", "true");
  bad.files.push_back({"x", "/proc/sys/kernel/core_pattern", 0444});
  auto refused = runtime_->start(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("/proc/sys/kernel/core_pattern"), std::string::npos)
      << refused.error().message();
  expect_no_trace("badfile");

  // Found by the task's init, in the task's view: the reason reaches start() whole.
  TaskSpec nowhere = shell("nowhere", "true");
  nowhere.files.push_back({"x", "/nonexistent-" + node_ + "/x", 0444});
  auto missing = runtime_->start(nowhere);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("does not exist on this node"), std::string::npos)
      << missing.error().message();
  expect_no_trace("nowhere");
}

TEST_F(RuntimeTest, AChrootEscapeFindsNoOtherRoot) {
  // A config at "/" makes the task's root a copy of the node's. The task keeps CAP_SYS_CHROOT:
  // the classic escape (chroot into a subdirectory, climb out with the cwd left outside it)
  // must lead nowhere but that same copy, with the node's state dir still hidden.
  TempDir node_state("/var/tmp");
  const std::string secret = "SECRET-" + node_;
  std::ofstream(node_state.path() + "/ca.key") << secret << "\n";
  runtime_.reset();
  RuntimeConfig hiding = config();
  hiding.hidden_paths = {node_state.path()};
  auto opened = Runtime::open(hiding);
  ASSERT_OK(opened);
  runtime_.emplace(std::move(*opened));
  TaskSpec task = spec("escape", {"/usr/bin/perl", "-e",
                                  "mkdir '/tmp/esc'; chroot '/tmp/esc' or die \"chroot: $!\"; "
                                  "chdir '..' for 1 .. 64; chroot '.' or die \"chroot .: $!\"; "
                                  "chdir '/'; exec '/bin/sh', '-c', $ARGV[0]",
                                  "cat " + node_state.path() +
                                      "/ca.key 2>/dev/null; echo blockdevs=$(find /dev -type b | "
                                      "wc -l); cat /shoal-rt-" +
                                      node_});
  task.files.push_back({"the config\n", "/shoal-rt-" + node_, 0444});
  ASSERT_OK(runtime_->start(task));
  wait_exited(*runtime_, "escape");
  auto logs = runtime_->logs("escape", 1 << 16);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->out + logs->err, "blockdevs=0\nthe config\n");
  ASSERT_OK(runtime_->remove("escape"));
}

}  // namespace
}  // namespace shoal::runtime
