// The worker's executor against fakes (tests/support/fake_agent.h, fake_kernel.h): no root, no
// kernel. Assignments in, tasks started on their networks and reported; exits, stops and
// refusals reported; a restarted executor adopts what runs.
#include "control/agent/executor/executor.h"

#include <gtest/gtest.h>

#include "tests/support/fake_agent.h"
#include "tests/support/fake_kernel.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace shoal::agent {
namespace {

using namespace std::chrono_literals;
using manager::TaskState;
using shoal::testing::wait_until;

const Ipv4 kNode = *Ipv4::parse("198.51.100.7");

manager::Network app_network() {
  manager::Network network;
  network.id = "net1";
  network.name = "app";
  network.vni = 4100;
  network.subnet = *Ipv4Prefix::parse("10.0.9.0/24");
  return network;
}

api::TaskAssignment web_task(const std::string& id) {
  api::TaskAssignment task;
  task.id = id;
  task.service_id = "svc1";
  task.service_name = "web";
  task.slot = 1;
  task.runtime.command = {"/bin/httpd"};
  task.runtime.args = {"-f"};
  task.runtime.env = {"MODE=test"};
  task.addresses["net1"] = *Ipv4Prefix::parse("10.0.9.5/24");
  task.vips["net1"] = *Ipv4Prefix::parse("10.0.9.2/24");
  return task;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void TearDown() override { executor_.reset(); }

  void start() {
    auto kernel = std::make_unique<shoal::testing::FakeKernel>(1500, kNode);
    kernel_ = kernel.get();
    ExecutorParts parts{.kernel = std::move(kernel),
                        .runtime = std::make_unique<shoal::testing::FakeTaskRuntime>(tasks_)};
    auto started =
        Executor::start({.node_tag = "n7", .advertise_addr = kNode, .state_dir = dir_.path()},
                        rows_, rotation_, std::move(parts));
    ASSERT_TRUE(started.ok()) << started.error().message();
    executor_ = std::move(started).value();
  }

  void assign(std::vector<api::TaskAssignment> tasks) {
    executor_->assign(std::move(tasks), {app_network()}, std::nullopt);
  }

  // Collects the executor's reports until `id` reached `state`; the last report of it.
  std::optional<api::TaskStatus> wait_for(const std::string& id, TaskState state) {
    const auto name = std::string(manager::to_string(state));
    std::optional<api::TaskStatus> found;
    wait_until(
        [&] {
          for (auto& report : executor_->take_reports()) {
            reports_.push_back(report);
            if (report.task_id() == id && report.state() == name)
              found = report;
          }
          return found.has_value();
        },
        10s, 20ms);
    return found;
  }

  std::vector<std::string> states_of(const std::string& id) const {
    std::vector<std::string> states;
    for (const auto& report : reports_) {
      if (report.task_id() == id)
        states.push_back(report.state());
    }
    return states;
  }

  shoal::testing::TempDir dir_{"shoal-executor-"};
  std::shared_ptr<shoal::testing::FakeTasks> tasks_ = std::make_shared<shoal::testing::FakeTasks>();
  shoal::testing::FakeTableMember rows_;
  shoal::testing::FakeTaskRotation rotation_;
  shoal::testing::FakeKernel* kernel_ = nullptr;  // owned by the executor
  std::unique_ptr<Executor> executor_;
  std::vector<api::TaskStatus> reports_;
};

TEST_F(ExecutorTest, AnAssignedTaskRunsOnItsNetworkAndIsReportedRunning) {
  assign({web_task("t1")});
  ASSERT_TRUE(wait_for("t1", TaskState::kRunning));
  EXPECT_EQ(states_of("t1"),
            (std::vector<std::string>{"accepted", "preparing", "starting", "running"}));
  auto spec = tasks_->spec("t1");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/httpd", "-f"}));
  EXPECT_EQ(spec->env, (std::vector<std::string>{"MODE=test"}));
  EXPECT_FALSE(spec->netns.empty()) << "every task runs in a namespace of its own";
  EXPECT_EQ(spec->resolv_conf, "nameserver 127.0.0.11\noptions ndots:0\n");
  // Its endpoint is in the kernel, its row in the table, and it is in rotation with its VIP.
  EXPECT_NE(kernel_->find_link(spec->netns, "eth0"), nullptr);
  EXPECT_EQ(rows_.networks(), (std::set<std::string>{"net1"}));
  EXPECT_FALSE(rows_.rows().empty());
  ASSERT_TRUE(wait_until([&] { return rotation_.in_rotation("t1").has_value(); }, 5s, 20ms));
  auto service = *rotation_.in_rotation("t1");
  ASSERT_EQ(service.endpoints.size(), 1u);
  EXPECT_EQ(service.endpoints[0].ip, *Ipv4::parse("10.0.9.5"));
  EXPECT_EQ(service.endpoints[0].vip, *Ipv4::parse("10.0.9.2"));
  EXPECT_EQ(service.task_name, "web.1.t1");
}

TEST_F(ExecutorTest, ATaskThatExitsIsReportedFailedWithItsCodeAndTornDown) {
  assign({web_task("t1")});
  ASSERT_TRUE(wait_for("t1", TaskState::kRunning));
  const auto netns = tasks_->spec("t1")->netns;
  tasks_->exit("t1", 3);
  auto failed = wait_for("t1", TaskState::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->exit_code(), 3);
  EXPECT_EQ(failed->message(), "task: non-zero exit (3)");
  EXPECT_FALSE(rotation_.in_rotation("t1"));
  EXPECT_TRUE(rows_.rows().empty()) << "its address may go to a task elsewhere next";
  EXPECT_EQ(kernel_->find_link(netns, "eth0"), nullptr);
  EXPECT_EQ(tasks_->starts(), 1u) << "the manager decides a restart, not the agent";
}

TEST_F(ExecutorTest, ATaskNoLongerAssignedIsStoppedAndReportedShutDown) {
  assign({web_task("t1")});
  ASSERT_TRUE(wait_for("t1", TaskState::kRunning));
  assign({});
  ASSERT_TRUE(wait_for("t1", TaskState::kShutdown));
  EXPECT_EQ(tasks_->stops(), (std::vector<std::string>{"t1"}));
  EXPECT_FALSE(rotation_.in_rotation("t1"));
}

TEST_F(ExecutorTest, ATaskOnANetworkTheAssignmentLacksIsRejectedAndNeverStarts) {
  auto task = web_task("t1");
  task.addresses = {{"elsewhere", *Ipv4Prefix::parse("10.0.8.5/24")}};
  assign({task});
  auto rejected = wait_for("t1", TaskState::kRejected);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->message(), "invalid network elsewhere: is not in the assignment");
  EXPECT_EQ(tasks_->starts(), 0u);
}

TEST_F(ExecutorTest, AConfigThatDidNotArriveRejectsTheTask) {
  auto task = web_task("t1");
  task.runtime.configs = {manager::ConfigReference{
      .config_id = "cfg1", .config_name = "greeting", .target = "/etc/greeting", .mode = 0444}};
  assign({task});
  auto rejected = wait_for("t1", TaskState::kRejected);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->message(), "config greeting not received");
  EXPECT_EQ(tasks_->starts(), 0u);
}

TEST_F(ExecutorTest, ARuntimeThatCannotStartTheTaskFailsItWithTheRuntimesReason) {
  {
    std::lock_guard lock(tasks_->mutex);
    tasks_->refuse_next_start = "executable not found";
  }
  assign({web_task("t1")});
  auto failed = wait_for("t1", TaskState::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->message(), "start task t1: executable not found");
  EXPECT_TRUE(rows_.rows().empty());
}

TEST_F(ExecutorTest, ARestartedExecutorAdoptsItsRunningTaskAndSaysSoAgain) {
  assign({web_task("t1")});
  ASSERT_TRUE(wait_for("t1", TaskState::kRunning));
  executor_.reset();  // the agent stops; its task keeps running
  start();
  assign({web_task("t1")});
  ASSERT_TRUE(wait_until([&] { return rotation_.in_rotation("t1").has_value(); }, 5s, 20ms));
  EXPECT_EQ(tasks_->starts(), 1u) << "adopted, not started again";
  auto all = executor_->all_reports();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].task_id(), "t1");
  EXPECT_EQ(all[0].state(), "running");
}

}  // namespace
}  // namespace shoal::agent
