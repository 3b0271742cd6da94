// The task runtime against the real kernel: namespaces, cgroups, processes, adoption.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "control/runtime/process.h"
#include "control/runtime/task_files.h"
#include "tests/netns/runtime/runtime_fixture.h"
#include "tests/support/private_mounts.h"

namespace shoal::runtime::test {
namespace {

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

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

}  // namespace
}  // namespace shoal::runtime::test
