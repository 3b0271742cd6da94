// Rolling updates, rollback and global services in a real swarm (issue #7), on simulated hosts:
// hosts 1-3 form the swarm; host 4 runs a shoald outside it, plays the client from outside, and
// joins in the last test.
//
// The web tasks answer HTTP with "<version> <task hostname>"; their version comes from the env
// (V), so an update that changes V replaces every task, and the answers tell old from new. With
// FAIL=1 in the env a task exits at once: the update that sets it fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/load.h"
#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

constexpr int kHosts = 4;
constexpr int kMembers = 3;
constexpr int kClientHost = 4;

std::string web_command() {
  return std::string("[ \"$FAIL\" = 1 ] && exit 1; exec ") + SHOAL_LB_BENCH_PATH +
         " http 0.0.0.0 80 \"$V $(hostname)\"";
}

class SwarmUpdate : public SharedSwarmTest<SwarmUpdate> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = kHosts, .members = kMembers};

  static std::string grow(SwarmCluster& c) { return c.create_app_network(); }

 protected:
  // The answer of host:port to a request from outside the swarm ("" when none came).
  std::string request(int host, int port) { return cluster_->http_get(kClientHost, host, port); }

  // Every host answers `port`, and only with `version`'s tasks, 10 times in a row.
  ::testing::AssertionResult serves(int port, const std::string& version) {
    int good = 0;
    std::string last;
    bool ok = wait_until(
        [&] {
          last = request(1 + good % kMembers, port);
          good = last.starts_with(version + " ") ? good + 1 : 0;
          return good >= 10;
        },
        30s, 50ms);
    if (ok) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "port " << port << " should serve " << version << ", last answer \"" << last << "\"";
  }

  // `service inspect`'s UpdateStatus.State ("" before any update).
  // `service inspect` prints Docker's JSON array (it has no --format); null when it fails.
  nlohmann::json inspect(const std::string& service) {
    auto inspected = cluster_->shoal(1, {"service", "inspect", service});
    auto doc = nlohmann::json::parse(inspected.output, nullptr, false);
    if (inspected.exit_code != 0 || !doc.is_array() || doc.empty()) {
      return nullptr;
    }
    return doc[0];
  }

  std::string update_state(const std::string& service) {
    auto doc = inspect(service);
    if (doc.is_null() || !doc.contains("UpdateStatus") || doc["UpdateStatus"].is_null()) {
      return "";
    }
    return doc["UpdateStatus"].value("State", "");
  }

  ::testing::AssertionResult reaches_state(const std::string& service, const std::string& state,
                                           std::chrono::milliseconds timeout = 60s) {
    std::string seen;
    if (wait_until(
            [&] {
              seen = update_state(service);
              return seen == state;
            },
            timeout, 200ms)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << service << " update state \"" << seen << "\", expected \"" << state << "\"\n"
           << cluster_->ps_text(service);
  }

  std::set<std::string> running_ids(const std::string& service) {
    std::set<std::string> ids;
    for (const auto& task : cluster_->ps(service)) {
      if (task.current_running()) {
        ids.insert(task.id);
      }
    }
    return ids;
  }
};

TEST_F(SwarmUpdate, ARollingUpdateTwoAtATimeUnderLoadFailsNoRequest) {
  ASSERT_TRUE(
      cluster_->create_service("web", 4, web_command(),
                               {"--publish", "8080:80", "--env", "V=v1", "--update-parallelism",
                                "2", "--update-delay", "1s", "--update-monitor", "2s"}));
  ASSERT_TRUE(cluster_->wait_running("web", 4));
  ASSERT_TRUE(serves(8080, "v1"));
  auto before = running_ids("web");

  auto start = std::chrono::steady_clock::now();
  Load load([this](int host) { return request(host, 8080); }, {1, 2, 3});
  auto updated = cluster_->shoal(1, {"service", "update", "--env-add", "V=v2", "web"}, 120000);
  ASSERT_EQ(updated.exit_code, 0) << updated.output;
  EXPECT_TRUE(reaches_state("web", "completed"));
  std::this_thread::sleep_for(2s);
  std::vector<std::string> answers;
  for (auto& done : load.stop()) {
    answers.push_back(std::move(done.answer));
  }
  auto took = std::chrono::steady_clock::now() - start;

  size_t failed = std::count(answers.begin(), answers.end(), "");
  size_t v2 = std::count_if(answers.begin(), answers.end(),
                            [](const std::string& a) { return a.starts_with("v2 "); });
  std::printf(
      "[ load     ] %zu requests in %lld ms during the update (%zu from v2), %zu failed\n",
      answers.size(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      v2, failed);
  EXPECT_GT(answers.size(), 30u);
  EXPECT_EQ(failed, 0u);
  EXPECT_GT(v2, 0u);
  auto after = running_ids("web");
  EXPECT_EQ(after.size(), 4u);
  for (const auto& id : after) {
    EXPECT_FALSE(before.contains(id)) << "every task is replaced";
  }
  EXPECT_TRUE(serves(8080, "v2"));
  EXPECT_TRUE(cluster_->remove_service("web"));
}

TEST_F(SwarmUpdate, AFailingUpdatePausesThenRollsBackToServingTasks) {
  ASSERT_TRUE(cluster_->create_service(
      "flaky", 3, web_command(),
      // A delay holds the worker after a task started, so a task failing right after its start
      // is seen before the next slot goes (with no delay, Swarm and Shoal may take one more).
      {"--publish", "8081:80", "--env", "V=good", "--update-monitor", "3s", "--update-delay",
       "1s"}));
  ASSERT_TRUE(cluster_->wait_running("flaky", 3));
  ASSERT_TRUE(serves(8081, "good"));

  // failure action pause (the default): the first failed task stops the update; the CLI says so.
  auto paused = cluster_->shoal(
      1, {"service", "update", "--env-add", "FAIL=1", "--env-add", "V=bad", "flaky"}, 120000);
  EXPECT_NE(paused.exit_code, 0) << paused.output;
  EXPECT_NE(paused.output.find("update paused due to failure or early termination of task"),
            std::string::npos)
      << paused.output;
  EXPECT_TRUE(reaches_state("flaky", "paused"));
  // One slot was taken by the update; the two others still run the old spec and serve.
  EXPECT_GE(running_ids("flaky").size(), 2u) << cluster_->ps_text("flaky");
  EXPECT_TRUE(serves(8081, "good"));

  // service rollback: back to the previous spec, every task serving it.
  auto rolled = cluster_->shoal(1, {"service", "rollback", "flaky"}, 120000);
  EXPECT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_TRUE(reaches_state("flaky", "rollback_completed"));
  EXPECT_TRUE(cluster_->wait_running("flaky", 3));
  EXPECT_TRUE(serves(8081, "good"));

  // failure action rollback: the manager rolls back by itself.
  auto automatic =
      cluster_->shoal(1, {"service", "update", "--env-add", "FAIL=1", "--env-add", "V=bad",
                          "--update-failure-action", "rollback", "--detach", "flaky"});
  ASSERT_EQ(automatic.exit_code, 0) << automatic.output;
  EXPECT_TRUE(reaches_state("flaky", "rollback_completed"));
  auto flaky = inspect("flaky");
  ASSERT_FALSE(flaky.is_null());
  auto env = flaky["Spec"]["Env"].dump();
  EXPECT_EQ(env.find("FAIL=1"), std::string::npos) << "the spec is the old one again: " << env;
  EXPECT_TRUE(cluster_->wait_running("flaky", 3));
  EXPECT_TRUE(serves(8081, "good"));
  EXPECT_TRUE(cluster_->remove_service("flaky"));
}

// Last: host 4 joins the swarm for good.
TEST_F(SwarmUpdate, AGlobalServiceFollowsNodesJoiningAndBeingDrained) {
  auto created =
      cluster_->shoal(1, {"service", "create", "--name", "everywhere", "--mode", "global",
                          "--network", "app", "--restart-delay", "100ms", "--stop-grace-period",
                          "2s", "--detach", "--", "/bin/sh", "-c", "exec sleep 1000"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto hosts_running = [&] {
    std::multiset<std::string> hosts;
    for (const auto& task : cluster_->ps("everywhere")) {
      if (task.current_running()) {
        hosts.insert(task.node);
      }
    }
    return hosts;
  };
  auto expect_hosts = [&](std::multiset<std::string> wanted) {
    std::multiset<std::string> seen;
    bool ok = wait_until(
        [&] {
          seen = hosts_running();
          return seen == wanted;
        },
        60s, 200ms);
    return ok ? ::testing::AssertionSuccess()
              : ::testing::AssertionFailure()
                    << "running on " << ::testing::PrintToString(seen) << ", expected "
                    << ::testing::PrintToString(wanted) << "\n"
                    << cluster_->ps_text("everywhere");
  };
  ASSERT_TRUE(expect_hosts({"h1", "h2", "h3"}));

  auto token = cluster_->shoal(1, {"swarm", "join-token", "-q", "worker"});
  ASSERT_EQ(token.exit_code, 0) << token.output;
  std::string worker_token = token.output.substr(0, token.output.find_first_of(" \n"));
  auto join = cluster_->shoal(
      kClientHost, {"swarm", "join", "--token", worker_token, cluster_->address(1) + ":2377"});
  ASSERT_EQ(join.exit_code, 0) << join.output;
  EXPECT_TRUE(expect_hosts({"h1", "h2", "h3", "h4"}));

  auto drain = cluster_->shoal(1, {"node", "update", "--availability", "drain", "h2"});
  ASSERT_EQ(drain.exit_code, 0) << drain.output;
  EXPECT_TRUE(expect_hosts({"h1", "h3", "h4"}));
  auto active = cluster_->shoal(1, {"node", "update", "--availability", "active", "h2"});
  ASSERT_EQ(active.exit_code, 0) << active.output;
  EXPECT_TRUE(expect_hosts({"h1", "h2", "h3", "h4"}));

  // A constraint applies: a label on h3 only keeps the service there.
  auto label = cluster_->shoal(1, {"node", "update", "--label-add", "edge=yes", "h3"});
  ASSERT_EQ(label.exit_code, 0) << label.output;
  auto constrained = cluster_->shoal(1, {"service", "update", "--constraint-add",
                                         "node.labels.edge==yes", "--detach", "everywhere"});
  ASSERT_EQ(constrained.exit_code, 0) << constrained.output;
  EXPECT_TRUE(expect_hosts({"h3"}));
  EXPECT_TRUE(cluster_->remove_service("everywhere"));
}

}  // namespace
}  // namespace shoal::e2e
