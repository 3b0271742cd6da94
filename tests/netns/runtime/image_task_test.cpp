// Image tasks through the task runtime against the real kernel and the real runc: the busybox
// test image (scripts/images/build-test-image.sh) unpacked with `umoci raw unpack`, run by the
// shim with runc in a netns of the test's own; root. The fixture is the process runtime's
// (runtime_fixture.h): the same Runtime runs both kinds of task.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "control/runtime/oci/cgroup_cleanup.h"
#include "control/runtime/oci/rootfs_mount.h"
#include "tests/netns/runtime/runtime_fixture.h"
#include "tests/support/testbed.h"

namespace shoal::runtime::test {
namespace {

using Clock = std::chrono::steady_clock;

// The test image, built and unpacked once per binary, on first use (the process tests need none).
class TestImage {
 public:
  static const std::string& rootfs() {
    static TestImage image;
    return image.rootfs_;
  }

 private:
  TestImage() {
    if (dir_.path().empty())
      return;
    auto built = shoal::testing::run_command(
        {SHOAL_BUILD_TEST_IMAGE, dir_.at("image"), "shoal/httpd:test"}, 60000);
    if (!built.ok() || built->exit_code != 0) {
      ADD_FAILURE() << "build test image: " << (built.ok() ? built->output : "");
      return;
    }
    auto unpacked = shoal::testing::run_command(
        {"umoci", "raw", "unpack", "--image", dir_.at("image/oci") + ":test", dir_.at("rootfs")},
        60000);
    if (!unpacked.ok() || unpacked->exit_code != 0) {
      ADD_FAILURE() << "umoci raw unpack: " << (unpacked.ok() ? unpacked->output : "");
      return;
    }
    rootfs_ = dir_.at("rootfs");
  }
  TempDir dir_{"shoal-rt-image"};
  std::string rootfs_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

class ImageTaskTest : public RuntimeTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestImage::rootfs().empty());
    RuntimeTest::SetUp();
  }

  void TearDown() override {
    RuntimeTest::TearDown();
    // The node's directories runc made in the v1 hierarchies (the agent's job when the node
    // leaves); cgroup2's shoal/<node> is the fixture's.
    const Status removed = oci::remove_task_cgroups("/shoal/" + node_);
    EXPECT_TRUE(removed.ok()) << removed.error().message();
  }

  TaskSpec image_task(const std::string& id, std::vector<std::string> argv) const {
    TaskSpec task = spec(id, std::move(argv));
    task.workdir = "/";
    task.image = ImageSpec{};
    task.image->rootfs = TestImage::rootfs();
    return task;
  }

  // Nothing of an image task is left: no mount, runc state, cgroup directory in any hierarchy,
  // task directory or process.
  void expect_no_image_trace(const std::string& id) {
    expect_no_trace(id);
    EXPECT_EQ(slurp("/proc/self/mountinfo").find(task_dir(id)), std::string::npos)
        << "a mount under " << task_dir(id);
    EXPECT_FALSE(exists(state_.path() + "/runc/" + id)) << "runc still knows " << id;
    const std::string cgroup = "/shoal/" + node_ + "/" + id;
    for (const auto& hierarchy : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
      EXPECT_FALSE(exists(hierarchy.path().string() + cgroup)) << hierarchy.path() << cgroup;
    }
    auto dirs = oci::task_cgroup_dirs(cgroup);
    ASSERT_OK(dirs);
    EXPECT_TRUE(dirs->empty()) << dirs->front();
  }

  void stop_and_remove_image(const std::string& id) {
    ASSERT_OK(runtime_->stop(id, 2s));
    ASSERT_OK(runtime_->remove(id));
    expect_no_image_trace(id);
  }
};

TEST_F(ImageTaskTest, RunsInTheImageRootAsTheUserWithItsFilesAndExitCode) {
  TaskSpec task = image_task(
      "img", {"sh", "-c", "id; cat /etc/resolv.conf; ls /; echo out; echo err >&2; exit 3"});
  task.resolv_conf = "nameserver 10.0.9.53\noptions ndots:0\n";
  task.image->uid = 33;
  task.image->gid = 33;
  auto started = runtime_->start(task);
  ASSERT_OK(started);
  const TaskStatus status = wait_exited(*runtime_, "img");
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_EQ(status.signal, std::nullopt);
  auto logs = runtime_->logs("img", 1 << 16);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->err, "err\n");
  EXPECT_EQ(logs->out.rfind("uid=33(www) gid=33(www)", 0), 0u) << logs->out;
  EXPECT_NE(logs->out.find(task.resolv_conf), std::string::npos) << logs->out;
  const auto lines = lines_of(logs->out);
  // The image's root (its /www), not the node's (no /work, where this project lives).
  EXPECT_NE(std::find(lines.begin(), lines.end(), "www"), lines.end()) << logs->out;
  EXPECT_EQ(std::find(lines.begin(), lines.end(), "work"), lines.end()) << logs->out;
  EXPECT_EQ(lines.back(), "out");
  ASSERT_OK(runtime_->remove("img"));
  expect_no_image_trace("img");
}

TEST_F(ImageTaskTest, RunsInItsNetnsAndTheTaskCgroupLeaf) {
  auto started = runtime_->start(image_task("net", {"sleep", "1000"}));
  ASSERT_OK(started);
  const std::string proc = "/proc/" + std::to_string(started->pid);
  auto netns = dataplane::Netns::open_named(netns_.name());
  ASSERT_OK(netns);
  EXPECT_EQ(inode_of(proc + "/ns/net"), netns->inode());
  EXPECT_EQ(started->cgroup, task_cgroup("net") + "/task");
  EXPECT_NE(slurp(started->cgroup + "/cgroup.procs").find(std::to_string(started->pid)),
            std::string::npos);
  stop_and_remove_image("net");
}

TEST_F(ImageTaskTest, StopKillsAContainerThatIgnoresTheStopSignalAfterGrace) {
  // sleep as the container's PID 1 has no handler: the kernel drops its SIGTERM.
  ASSERT_OK(runtime_->start(image_task("stop", {"sleep", "1000"})));
  const auto before = Clock::now();
  ASSERT_OK(runtime_->stop("stop", 500ms));
  const auto took = Clock::now() - before;
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 3s);
  auto status = runtime_->status("stop");
  ASSERT_OK(status);
  EXPECT_EQ(status->phase, TaskPhase::kExited);
  EXPECT_EQ(status->signal, SIGKILL);
  ASSERT_OK(runtime_->remove("stop"));
  expect_no_image_trace("stop");
}

TEST_F(ImageTaskTest, StopSignalOfTheImageEndsItQuickly) {
  // A shell traps the image's stop signal (SIGUSR1 here) and exits by itself.
  TaskSpec task =
      image_task("usr1", {"sh", "-c", "trap 'exit 7' USR1; echo ready; while :; do sleep 1; done"});
  task.image->stop_signal = SIGUSR1;
  ASSERT_OK(runtime_->start(task));
  ASSERT_TRUE(wait_output("usr1", "ready"));
  const auto before = Clock::now();
  ASSERT_OK(runtime_->stop("usr1", 5s));
  EXPECT_LT(Clock::now() - before, 4s);
  auto status = runtime_->status("usr1");
  ASSERT_OK(status);
  EXPECT_EQ(status->exit_code, 7);
  ASSERT_OK(runtime_->remove("usr1"));
  expect_no_image_trace("usr1");
}

TEST_F(ImageTaskTest, ANewRuntimeAdoptsARunningImageTask) {
  auto started = runtime_->start(image_task("adopt", {"sleep", "1000"}));
  ASSERT_OK(started);
  runtime_.reset();  // as an agent that stops: the task runs on
  EXPECT_TRUE(process_alive(started->pid));
  runtime_ = open_runtime();
  ASSERT_TRUE(runtime_.has_value());
  const std::vector<TaskStatus> tasks = runtime_->list();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].id, "adopt");
  EXPECT_EQ(tasks[0].phase, TaskPhase::kRunning);
  EXPECT_EQ(tasks[0].pid, started->pid);
  ASSERT_OK(runtime_->stop("adopt", 200ms));
  auto status = runtime_->status("adopt");
  ASSERT_OK(status);
  EXPECT_EQ(status->phase, TaskPhase::kExited);
  EXPECT_EQ(status->signal, SIGKILL);
  ASSERT_OK(runtime_->remove("adopt"));
  expect_no_image_trace("adopt");
}

TEST_F(ImageTaskTest, AFailedStartLeavesNothing) {
  auto started = runtime_->start(image_task("bad", {"/no/such/program"}));
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message().find("no/such/program"), std::string::npos)
      << started.error().message();
  expect_no_image_trace("bad");
  EXPECT_TRUE(runtime_->list().empty());

  TaskSpec no_netns = image_task("nonet", {"true"});
  no_netns.netns.clear();
  EXPECT_FALSE(runtime_->start(no_netns).ok());
  expect_no_image_trace("nonet");
}

// Not a check: start() to running for each kind of task, printed for the record.
TEST_F(ImageTaskTest, StartTimesOfImageAndProcessTasks) {
  auto median_start = [&](bool image) {
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      const std::string id = (image ? "ti" : "tp") + std::to_string(i);
      const TaskSpec task = image ? image_task(id, {"sleep", "1000"}) : spec(id, {"sleep", "1000"});
      const auto before = Clock::now();
      const bool started = runtime_->start(task).ok();
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
      EXPECT_TRUE(started && runtime_->stop(id, 0ms).ok() && runtime_->remove(id).ok()) << id;
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  const double process = median_start(false);
  const double image = median_start(true);
  std::cout << "start() to running, median of 5: process task " << process << " ms, image task "
            << image << " ms\n";
  RecordProperty("process_start_ms", std::to_string(process));
  RecordProperty("image_start_ms", std::to_string(image));
}

}  // namespace
}  // namespace shoal::runtime::test
