// One task's controller (control/agent/executor/task_controller.h): what the runtime is asked
// to run, what the service plane learns of a task, and how an exit is reported.
#include "control/agent/executor/task_controller.h"

#include <gtest/gtest.h>

namespace shoal::agent {
namespace {

using manager::TaskState;

api::TaskAssignment task_with_config() {
  api::TaskAssignment task;
  task.id = "0123456789abcdef";
  task.service_id = "svc1";
  task.service_name = "web";
  task.slot = 3;
  task.runtime.command = {"/bin/httpd"};
  task.runtime.args = {"-f", "-p", "80"};
  task.runtime.env = {"MODE=test"};
  manager::ConfigReference config;
  config.config_id = "cfg1";
  config.config_name = "greeting";
  config.target = "/etc/greeting";
  config.mode = 0444;
  task.runtime.configs.push_back(config);
  task.config_data["cfg1"] = "hello";
  return task;
}

TEST(TaskSpec, CommandArgumentsEnvironmentResolverHostnameAndConfigs) {
  auto spec = task_spec(task_with_config());
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->id, "0123456789abcdef");
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/httpd", "-f", "-p", "80"}));
  EXPECT_EQ(spec->env, (std::vector<std::string>{"MODE=test"}));
  EXPECT_EQ(spec->hostname, "0123456789ab");  // the short id, as Docker
  EXPECT_EQ(spec->resolv_conf, "nameserver 127.0.0.11\noptions ndots:0\n");
  ASSERT_EQ(spec->files.size(), 1u);
  EXPECT_EQ(spec->files[0].content, "hello");
  EXPECT_EQ(spec->files[0].target, "/etc/greeting");
  EXPECT_EQ(spec->files[0].mode, 0444u);
  EXPECT_TRUE(spec->netns.empty());  // set at start, once the task's namespace exists
}

TEST(TaskSpec, AConfigWhoseDataDidNotArriveIsAnErrorNamingIt) {
  auto task = task_with_config();
  task.config_data.clear();
  auto spec = task_spec(task);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message(), "config greeting not received");
}

TEST(TaskServiceOf, EndpointsPerNetworkWithVipAndAliasesAndThePublishedPorts) {
  auto task = task_with_config();
  task.vips["net1"] = *Ipv4Prefix::parse("10.0.9.2/24");
  task.runtime.network_aliases["net1"] = {"api"};
  task.ports.push_back({.published = 5353,
                        .target = 53,
                        .protocol = manager::Protocol::kUdp,
                        .mode = manager::PublishMode::kHost});
  TaskRecord record;
  record.networks = {"net1", "ingress"};
  record.addresses = {*Ipv4Prefix::parse("10.0.9.5/24"), *Ipv4Prefix::parse("10.255.0.7/16")};
  record.netns = "shoal-n7-task";

  auto service = task_service(task, record);
  EXPECT_EQ(service.task_name, "web.3.0123456789abcdef");
  EXPECT_EQ(service.netns, "shoal-n7-task");
  ASSERT_EQ(service.endpoints.size(), 2u);
  EXPECT_EQ(service.endpoints[0].ip, *Ipv4::parse("10.0.9.5"));
  EXPECT_EQ(service.endpoints[0].vip, *Ipv4::parse("10.0.9.2"));
  EXPECT_EQ(service.endpoints[0].aliases, (std::vector<std::string>{"api"}));
  EXPECT_FALSE(service.endpoints[1].vip.has_value());  // no VIP on that network
  ASSERT_EQ(service.ports.size(), 1u);
  EXPECT_EQ(service.ports[0].port, 5353);
  EXPECT_EQ(service.ports[0].target_port, 53);
  EXPECT_EQ(service.ports[0].protocol, lb::Protocol::kUdp);
  EXPECT_EQ(service.ports[0].mode, agent::PublishMode::kHost);

  task.dnsrr = true;  // DNS round robin: no VIP even where one is allocated
  EXPECT_FALSE(task_service(task, record).endpoints[0].vip.has_value());
}

TEST(ExitReportOf, CompleteOnZeroFailedWithTheCodeOrTheSignalOrUnknown) {
  runtime::TaskStatus status;
  status.phase = runtime::TaskPhase::kExited;
  status.exit_code = 0;
  auto done = exit_report(status);
  EXPECT_EQ(done.state, TaskState::kComplete);
  EXPECT_EQ(done.message, "finished");

  status.exit_code = 3;
  auto failed = exit_report(status);
  EXPECT_EQ(failed.state, TaskState::kFailed);
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_EQ(failed.message, "task: non-zero exit (3)");

  status.exit_code.reset();
  status.signal = 9;
  auto killed = exit_report(status);
  EXPECT_EQ(killed.state, TaskState::kFailed);
  EXPECT_EQ(killed.exit_code, 137);
  EXPECT_EQ(killed.message, "task: killed by signal 9");

  status.signal.reset();
  auto unknown = exit_report(status);
  EXPECT_EQ(unknown.state, TaskState::kFailed);
  EXPECT_EQ(unknown.message, "task: exited while the agent was down");
}

}  // namespace
}  // namespace shoal::agent
