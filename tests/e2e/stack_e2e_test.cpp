// Configs and stacks on simulated hosts (issue #7): a config readable inside a task at its
// target path (and refused removal while in use), and a stack of two services on its own
// network, one calling the other by its short name (`backend`), with `${VAR:-default}` in the
// file, deployed, updated in place and removed without leftovers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::wait_until;

constexpr int kHosts = 3;

class SwarmStacks : public SharedSwarmTest<SwarmStacks> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = kHosts, .members = kHosts};

  static std::string grow(SwarmCluster& c) { return c.create_app_network(); }

 protected:
  void SetUp() override {
    SharedSwarmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    dir_ = fs::temp_directory_path() /
           ("shoal-stack-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    SharedSwarmTest::TearDown();
  }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }

  // Until the service's logs hold `text`; returns the logs seen last.
  std::string logs_with(const std::string& service, const std::string& text,
                        std::chrono::milliseconds timeout = 20s) {
    std::string logs;
    wait_until(
        [&] {
          logs = cluster_->shoal(1, {"service", "logs", service}).output;
          return logs.find(text) != std::string::npos;
        },
        timeout, 500ms);
    return logs;
  }

  std::set<std::string> running_ids(const std::string& service) {
    std::set<std::string> ids;
    for (const auto& task : cluster_->ps(service)) {
      if (task.current_running())
        ids.insert(task.id);
    }
    return ids;
  }

  fs::path dir_;
};

TEST_F(SwarmStacks, AConfigIsReadableInsideTheTaskAtItsTarget) {
  const std::string content = "hello from a config\n";
  auto created =
      cluster_->shoal(1, {"config", "create", "greeting", write("greeting.txt", content)});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto pretty = cluster_->shoal(1, {"config", "inspect", "--pretty", "greeting"});
  EXPECT_THAT(pretty.output, ::testing::HasSubstr("Name:\t\t\tgreeting"));
  EXPECT_THAT(pretty.output, ::testing::HasSubstr("Data:\n" + content));
  // The long form in /etc (exists on the host, the file does not) with a mode, the short form
  // at /greeting (a new entry of "/"). Each is printed with its mode.
  const std::string script =
      "cat /etc/shoal-greeting.txt; stat -c 'mode %a' /etc/shoal-greeting.txt; "
      "cat /greeting; stat -c 'mode %a' /greeting; "
      "echo > /greeting 2>/dev/null || echo read-only; exec sleep 1000";
  ASSERT_TRUE(cluster_->create_service(
      "reader", 1, script,
      {"--config", "source=greeting,target=/etc/shoal-greeting.txt,mode=0440", "--config",
       "greeting"}));
  ASSERT_TRUE(cluster_->wait_running("reader", 1)) << cluster_->daemon_logs();
  auto logs = logs_with("reader", "read-only");
  EXPECT_THAT(logs, ::testing::HasSubstr("| hello from a config"));
  EXPECT_THAT(logs, ::testing::HasSubstr("| mode 440"));
  EXPECT_THAT(logs, ::testing::HasSubstr("| mode 444"));
  EXPECT_THAT(logs, ::testing::HasSubstr("| read-only"));
  // Nothing appeared on the host.
  EXPECT_FALSE(fs::exists("/etc/shoal-greeting.txt"));
  EXPECT_FALSE(fs::exists("/greeting"));

  auto refused = cluster_->shoal(1, {"config", "rm", "greeting"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output,
              ::testing::HasSubstr("config 'greeting' is in use by the following service: reader"));
  EXPECT_TRUE(cluster_->remove_service("reader"));
  auto removed = cluster_->shoal(1, {"config", "rm", "greeting"});
  EXPECT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_EQ(cluster_->shoal(1, {"config", "ls", "-q"}).output, "");
}

// The frontend calls the backend by its short name (`backend`, Docker's alias of
// shop_backend on the stack's networks). The version comes from `${VAR:-default}` with VAR
// unset, so the default is what the task sees; `$$` is a `$` for the task's shell.
std::string compose(const std::string& version) {
  return std::string(R"(version: "3.8"
services:
  backend:
    entrypoint: ["/bin/sh", "-c"]
    command: ["exec )") +
         SHOAL_LB_BENCH_PATH + R"( http 0.0.0.0 80 \"backend $$VERSION\""]
    environment:
      VERSION: ${SHOAL_E2E_NEVER_SET_VERSION:-)" +
         version +
         R"(}
    networks: [appnet]
    deploy:
      replicas: 2
      restart_policy: {delay: 100ms}
    stop_grace_period: 2s
  frontend:
    entrypoint: /bin/sh -c
    command: >-
      'cat /etc/stack-greeting.txt;
      for i in $$(seq 50); do getent hosts backend >/dev/null && break; sleep 0.1; done;
      while true; do curl -s --max-time 2 http://backend/; echo; sleep 0.3; done'
    networks: [appnet]
    configs:
      - source: greeting
        target: /etc/stack-greeting.txt
    deploy:
      restart_policy: {delay: 100ms}
    stop_grace_period: 2s
networks:
  appnet:
    driver: overlay
configs:
  greeting:
    file: ./greeting.txt
)";
}

TEST_F(SwarmStacks, AStackIsDeployedUpdatedInPlaceAndRemovedWithoutLeftovers) {
  write("greeting.txt", "stack greeting\n");
  const std::string file = write("docker-compose.yml", compose("v1"));
  auto deployed = cluster_->shoal(1, {"stack", "deploy", "-c", file, "shop"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  EXPECT_THAT(deployed.output, ::testing::HasSubstr("Creating network shop_appnet"));
  EXPECT_THAT(deployed.output, ::testing::HasSubstr("Creating config shop_greeting"));
  EXPECT_THAT(deployed.output, ::testing::HasSubstr("Creating service shop_backend"));
  EXPECT_THAT(deployed.output, ::testing::HasSubstr("Creating service shop_frontend"));
  ASSERT_TRUE(cluster_->wait_running("shop_backend", 2)) << cluster_->daemon_logs();
  ASSERT_TRUE(cluster_->wait_running("shop_frontend", 1)) << cluster_->daemon_logs();

  auto logs = logs_with("shop_frontend", "backend v1");
  EXPECT_THAT(logs, ::testing::HasSubstr("| backend v1"));
  EXPECT_THAT(logs, ::testing::HasSubstr("| stack greeting"));
  EXPECT_THAT(cluster_->shoal(1, {"stack", "ls"}).output, ::testing::ContainsRegex("shop +2"));
  auto services = cluster_->shoal(1, {"stack", "services", "shop"}).output;
  EXPECT_THAT(services, ::testing::ContainsRegex("shop_backend +replicated +2/2"));
  EXPECT_THAT(services, ::testing::ContainsRegex("shop_frontend +replicated +1/1"));
  auto ps = cluster_->shoal(1, {"stack", "ps", "shop"}).output;
  EXPECT_THAT(ps, ::testing::HasSubstr("shop_backend.1"));
  EXPECT_THAT(ps, ::testing::HasSubstr("shop_frontend.1"));
  auto network = cluster_->shoal(1, {"network", "inspect", "shop_appnet"}).output;
  EXPECT_THAT(network, ::testing::HasSubstr("\"com.docker.stack.namespace\": \"shop\""));
  auto backend = cluster_->shoal(1, {"service", "inspect", "--pretty", "shop_backend"}).output;
  EXPECT_THAT(backend, ::testing::HasSubstr("(aliases: backend)"));

  // The same file again changes nothing: no task is replaced.
  const auto backend_before = running_ids("shop_backend");
  const auto frontend_before = running_ids("shop_frontend");
  auto again = cluster_->shoal(1, {"stack", "deploy", "-c", file, "shop"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output, "");

  // A changed environment updates that service only, in place.
  write("docker-compose.yml", compose("v2"));
  auto updated = cluster_->shoal(1, {"stack", "deploy", "-c", file, "shop"});
  ASSERT_EQ(updated.exit_code, 0) << updated.output;
  EXPECT_THAT(updated.output, ::testing::HasSubstr("Updating service shop_backend"));
  EXPECT_THAT(updated.output, ::testing::Not(::testing::HasSubstr("frontend")));
  EXPECT_THAT(updated.output, ::testing::Not(::testing::HasSubstr("Creating")));
  logs = logs_with("shop_frontend", "backend v2", 60s);
  EXPECT_THAT(logs, ::testing::HasSubstr("| backend v2"));
  EXPECT_TRUE(cluster_->wait_running("shop_backend", 2, 60s));
  auto backend_after = running_ids("shop_backend");
  for (const auto& id : backend_before)
    EXPECT_FALSE(backend_after.contains(id)) << "backend task " << id << " was not replaced";
  EXPECT_EQ(running_ids("shop_frontend"), frontend_before);

  // Removal: services, config and network go, and so does every task namespace.
  std::vector<TaskRow> tasks = cluster_->ps("shop_backend");
  for (const auto& task : cluster_->ps("shop_frontend"))
    tasks.push_back(task);
  auto removed = cluster_->shoal(1, {"stack", "rm", "shop"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_THAT(removed.output, ::testing::HasSubstr("Removing service shop_backend"));
  EXPECT_THAT(removed.output, ::testing::HasSubstr("Removing config shop_greeting"));
  EXPECT_THAT(removed.output, ::testing::HasSubstr("Removing network shop_appnet"));
  EXPECT_THAT(cluster_->shoal(1, {"stack", "ls"}).output,
              ::testing::Not(::testing::HasSubstr("shop")));
  EXPECT_THAT(cluster_->shoal(1, {"network", "ls"}).output,
              ::testing::Not(::testing::HasSubstr("shop_appnet")));
  EXPECT_EQ(cluster_->shoal(1, {"config", "ls", "-q"}).output, "");
  std::string left;
  bool clean = wait_until(
      [&] {
        left.clear();
        for (const auto& task : tasks) {
          if (!task.node.empty() && fs::exists("/run/netns/" + cluster_->task_namespace(task)))
            left += cluster_->task_namespace(task) + " ";
        }
        return left.empty();
      },
      30s);
  EXPECT_TRUE(clean) << "task namespaces left: " << left;
  auto again_rm = cluster_->shoal(1, {"stack", "rm", "shop"});
  EXPECT_NE(again_rm.exit_code, 0);
  EXPECT_THAT(again_rm.output, ::testing::HasSubstr("Nothing found in stack: shop"));
}

TEST_F(SwarmStacks, AnInvalidComposeFileChangesNothing) {
  const std::string file = write("bad.yml", "services:\n  web:\n    image: nginx\n    build: .\n");
  auto result = cluster_->shoal(1, {"stack", "deploy", "-c", file, "bad"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(
      result.output,
      ::testing::HasSubstr("services.web.build: not supported: Shoal runs commands, not images"));
  // A required variable that is not set stops the deploy, naming it and its key.
  const std::string required = write(
      "required.yml", "services:\n  web:\n    command: ${SHOAL_E2E_NEVER_SET:?set it first}\n");
  auto missing = cluster_->shoal(1, {"stack", "deploy", "-c", required, "bad"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.output,
              ::testing::HasSubstr("services.web.command: required variable SHOAL_E2E_NEVER_SET "
                                   "is missing a value: set it first"));
  EXPECT_THAT(cluster_->shoal(1, {"stack", "ls"}).output,
              ::testing::Not(::testing::HasSubstr("bad")));
}

}  // namespace
}  // namespace shoal::e2e
