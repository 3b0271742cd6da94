// Published ports, VIPs and names in a real swarm (issue #6), on simulated hosts: hosts 1-3 form
// the swarm, host 4 runs a shoald outside it and plays the client from outside.
//
// The web service's tasks answer HTTP with "web <task hostname>" (their task id's first 12
// characters); a constraint keeps them off host 3, so host 3 answers only through the mesh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>

#include "tests/e2e/swarm_cluster.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

constexpr int kHosts = 4;
constexpr int kMembers = 3;
constexpr int kClientHost = 4;

std::string web_command() {
  return std::string("exec ") + SHOAL_LB_BENCH_PATH + " http 0.0.0.0 80 \"web $(hostname)\"";
}

class SwarmPorts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      return;
    }
    cluster_ = SwarmCluster::start(kHosts, kMembers, setup_error_).release();
    if (cluster_ == nullptr) {
      return;
    }
    auto created = cluster_->shoal(1, {"network", "create", "-d", "overlay", "app"});
    if (created.exit_code != 0) {
      setup_error_ = "network create app: " + created.output;
      delete cluster_;
      cluster_ = nullptr;
      return;
    }
    if (!cluster_->create_service("web", 2, web_command(),
                                  {"--publish", "8080:80", "--constraint", "node.hostname!=h3"}) ||
        !cluster_->wait_running("web", 2)) {
      setup_error_ = "service web did not start: " + cluster_->ps_text("web");
    }
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "the e2e tests need root (network namespaces, cgroups)";
    }
    ASSERT_NE(cluster_, nullptr) << setup_error_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      std::printf("%s", cluster_->daemon_logs().c_str());
    }
  }

  // The answer of `host`:8080 to a request from outside the swarm ("" when none came).
  std::string request(int host) {
    auto answer = testing::run_in_ns(
        cluster_->testbed().host_ns(kClientHost),
        {"curl", "-s", "--max-time", "2", "http://" + cluster_->address(host) + ":8080/"}, 5000);
    if (!answer.ok() || answer->exit_code != 0) {
      return "";
    }
    auto text = answer->output;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();  // the server ends its body with a newline
    }
    return text;
  }

  // The hostnames (task id prefixes) of web's running tasks.
  std::set<std::string> web_task_names() {
    std::set<std::string> names;
    for (const auto& task : cluster_->ps("web")) {
      if (task.current_running()) {
        names.insert("web " + task.id.substr(0, 12));
      }
    }
    return names;
  }

  static SwarmCluster* cluster_;
  static std::string setup_error_;
};

SwarmCluster* SwarmPorts::cluster_ = nullptr;
std::string SwarmPorts::setup_error_;

TEST_F(SwarmPorts, APublishedPortAnswersOnEveryHostFromEveryTask) {
  auto expected = web_task_names();
  ASSERT_EQ(expected.size(), 2u);
  for (int host = 1; host <= kMembers; ++host) {
    std::set<std::string> seen;
    bool all = wait_until(
        [&] {
          auto answer = request(host);
          if (!answer.empty()) {
            seen.insert(answer);
          }
          return seen == expected;
        },
        20s, 50ms);
    EXPECT_TRUE(all) << "host " << host << " answered from " << ::testing::PrintToString(seen)
                     << ", expected " << ::testing::PrintToString(expected);
  }
}

TEST_F(SwarmPorts, AnotherServiceReachesItByNameAndVipAndSeesItsTasks) {
  // The caller is a task too: its connect() goes through the node's eBPF hook (VIP) and its
  // resolver is the embedded DNS. It prints what it got; `service logs` brings it back.
  std::string script =
      // The task's DNS listener starts just after the task does (see the note in the README).
      "for i in $(seq 50); do getent hosts web >/dev/null && break; sleep 0.1; done; "
      "getent hosts web; getent ahostsv4 tasks.web | awk '{print \"task \" $1}' | sort -u; "
      "for i in 1 2 3 4 5 6 7 8 9 10; do curl -s --max-time 2 http://web/; echo; done; "
      "exec sleep 1000";
  ASSERT_TRUE(cluster_->create_service("caller", 1, script));
  ASSERT_TRUE(cluster_->wait_running("caller", 1));
  std::string logs;
  auto expected = web_task_names();
  bool answered = wait_until(
      [&] {
        auto result = cluster_->shoal(1, {"service", "logs", "caller"});
        logs = result.output;
        for (const auto& name : expected) {
          if (logs.find(name) == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      20s, 500ms);
  EXPECT_TRUE(answered) << "every web task should answer the caller through the VIP:\n" << logs;
  // `web` is the VIP on app; tasks.web the two tasks' addresses on app (the caller shares no
  // other network with them, so their ingress addresses must not show).
  std::set<std::string> task_lines;
  for (size_t at = logs.find("| task "); at != std::string::npos;
       at = logs.find("| task ", at + 1)) {
    task_lines.insert(logs.substr(at, logs.find('\n', at) - at));
  }
  EXPECT_EQ(task_lines.size(), 2u) << logs;
  EXPECT_THAT(logs, ::testing::ContainsRegex("[0-9.]+ +web"));
  EXPECT_TRUE(cluster_->remove_service("caller"));
}

TEST_F(SwarmPorts, ScalingAddsAndRemovesBackendsOnEveryHost) {
  auto scaled = cluster_->shoal(1, {"service", "scale", "web=3", "--detach"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.output;
  ASSERT_TRUE(cluster_->wait_running("web", 3));
  auto three = web_task_names();
  ASSERT_EQ(three.size(), 3u);
  std::set<std::string> seen;
  EXPECT_TRUE(wait_until(
      [&] {
        seen.insert(request(3));
        return std::includes(seen.begin(), seen.end(), three.begin(), three.end());
      },
      20s, 50ms))
      << "host 3 answered from " << ::testing::PrintToString(seen);

  scaled = cluster_->shoal(1, {"service", "scale", "web=2", "--detach"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.output;
  ASSERT_TRUE(cluster_->wait_running("web", 2));
  auto two = web_task_names();
  std::set<std::string> gone;
  std::set_difference(three.begin(), three.end(), two.begin(), two.end(),
                      std::inserter(gone, gone.end()));
  ASSERT_EQ(gone.size(), 1u);
  // Once the scale-down is done, no host sends a request to the removed task.
  for (int i = 0; i < 30; ++i) {
    for (int host = 1; host <= kMembers; ++host) {
      auto answer = request(host);
      EXPECT_FALSE(answer.empty()) << "host " << host << " did not answer";
      EXPECT_FALSE(gone.contains(answer)) << "host " << host << " routed to a removed task";
    }
  }
}

}  // namespace
}  // namespace shoal::e2e
