// Published ports, VIPs and names in a real swarm (issue #6), on simulated hosts: hosts 1-3 form
// the swarm, host 4 runs a shoald outside it and plays the client from outside.
//
// The web service's tasks answer HTTP with "web <task hostname>" (their task id's first 12
// characters); a constraint keeps them off host 3, so host 3 answers only through the mesh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
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
  return std::string("exec ") + SHOAL_LB_BENCH_PATH + " http 0.0.0.0 80 \"web $(hostname)\"";
}

std::string describe_failures(const std::vector<Load::Request>& requests,
                              std::chrono::steady_clock::time_point start) {
  std::string text;
  for (const auto& r : requests) {
    if (r.answer.empty()) {
      text += "  failed on host " + std::to_string(r.host) + " at " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::milliseconds>(r.at - start).count()) +
              " ms\n";
    }
  }
  return text;
}

size_t failures(const std::vector<Load::Request>& requests) {
  return std::count_if(requests.begin(), requests.end(),
                       [](const Load::Request& r) { return r.answer.empty(); });
}

class SwarmPorts : public SharedSwarmTest<SwarmPorts> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = kHosts, .members = kMembers};

  // Network `app` and service web, published on 8080 and kept off h3.
  static std::string grow(SwarmCluster& c) {
    if (auto error = c.create_app_network(); !error.empty()) {
      return error;
    }
    if (!c.create_service("web", 2, web_command(),
                          {"--publish", "8080:80", "--constraint", "node.hostname!=h3"}) ||
        !c.wait_running("web", 2)) {
      return "service web did not start: " + c.ps_text("web");
    }
    return "";
  }

 protected:
  // The answer of `host`:`port` to a request from outside the swarm ("" when none came).
  std::string request(int host, int port = 8080) {
    return cluster_->http_get(kClientHost, host, port);
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
};

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
  // Once the scale-down is done (the removed task's 1.5 s drain and the gossip of its rows
  // included), no host sends a request to the removed task.
  std::this_thread::sleep_for(3s);
  for (int i = 0; i < 30; ++i) {
    for (int host = 1; host <= kMembers; ++host) {
      auto answer = request(host);
      EXPECT_FALSE(answer.empty()) << "host " << host << " did not answer";
      EXPECT_FALSE(gone.contains(answer)) << "host " << host << " routed to a removed task";
    }
  }
}

TEST_F(SwarmPorts, ModeHostAnswersOnlyWhereATaskRuns) {
  ASSERT_TRUE(cluster_->create_service(
      "hostweb", 1, web_command(),
      {"--publish", "published=8081,target=80,mode=host", "--constraint", "node.hostname==h2"}));
  ASSERT_TRUE(cluster_->wait_running("hostweb", 1));
  auto task = cluster_->ps("hostweb").front();
  std::string expected = "web " + task.id.substr(0, 12);
  EXPECT_TRUE(wait_until([&] { return request(2, 8081) == expected; }, 20s, 100ms))
      << "h2 runs the task and should answer on 8081";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(request(1, 8081), "") << "h1 has no hostweb task";
    EXPECT_EQ(request(3, 8081), "") << "h3 has no hostweb task";
  }
  EXPECT_TRUE(cluster_->remove_service("hostweb"));
}

// The task namespaces on a host (shoal-<tag>-ep-<task id>).
std::set<std::string> task_namespaces(SwarmCluster& cluster, int host) {
  std::set<std::string> names;
  std::string prefix = "shoal-" + cluster.node_tag(host) + "-ep-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) {
      names.insert(name);
    }
  }
  return names;
}

TEST_F(SwarmPorts, ShoalRunOnAnAttachableNetworkReachesAServiceByName) {
  auto refused = cluster_->shoal(3, {"run", "--network", "app", "--", "true"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, ::testing::HasSubstr("network app is not attachable"));

  auto created = cluster_->shoal(1, {"network", "create", "-d", "overlay", "--attachable", "pub"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  ASSERT_TRUE(cluster_->create_service(
      "api", 2, std::string("exec ") + SHOAL_LB_BENCH_PATH + " http 0.0.0.0 80 \"api $(hostname)\"",
      {"--network", "pub"}));
  ASSERT_TRUE(cluster_->wait_running("api", 2));
  std::set<std::string> api_tasks;
  for (const auto& task : cluster_->ps("api")) {
    if (task.current_running()) {
      api_tasks.insert("api " + task.id.substr(0, 12));
    }
  }
  auto namespaces_before = task_namespaces(*cluster_, 3);

  // From h3, a worker: the name resolves at once and the VIP spreads over both tasks.
  auto run = cluster_->shoal(
      3,
      {"run", "--name", "probe", "--network", "pub", "--env", "GREETING=hello", "--", "sh", "-c",
       "getent hosts api >/dev/null || exit 9; echo $GREETING; "
       "for i in $(seq 12); do curl -s --max-time 2 http://api/; echo; done"},
      60000);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("hello"));
  for (const auto& name : api_tasks) {
    EXPECT_THAT(run.output, ::testing::HasSubstr(name));
  }

  auto failing =
      cluster_->shoal(3, {"run", "--network", "pub", "--", "sh", "-c", "echo bye; exit 3"});
  EXPECT_EQ(failing.exit_code, 3) << failing.output;
  EXPECT_THAT(failing.output, ::testing::HasSubstr("bye"));

  // Nothing is left: no hidden service on the manager, no namespace on the host.
  EXPECT_TRUE(wait_until(
      [&] {
        return cluster_->shoal(1, {"service", "ps", "probe"}).exit_code != 0;
      },
      10s, 100ms))
      << cluster_->shoal(1, {"service", "ps", "probe"}).output;
  EXPECT_TRUE(
      wait_until([&] { return task_namespaces(*cluster_, 3) == namespaces_before; }, 10s, 100ms));
  EXPECT_THAT(cluster_->shoal(1, {"service", "ls"}).output,
              ::testing::Not(::testing::HasSubstr("probe")));
  EXPECT_TRUE(cluster_->remove_service("api"));
}

TEST_F(SwarmPorts, PortsAddedAndRemovedByUpdateFollowOnEveryHost) {
  ASSERT_TRUE(cluster_->create_service("late", 1, web_command()));
  ASSERT_TRUE(cluster_->wait_running("late", 1));
  auto added = cluster_->shoal(1, {"service", "update", "--publish-add", "8083:80", "late"}, 60000);
  ASSERT_EQ(added.exit_code, 0) << added.output;
  ASSERT_TRUE(cluster_->wait_running("late", 1));
  for (int host = 1; host <= kMembers; ++host) {
    EXPECT_TRUE(wait_until([&] { return !request(host, 8083).empty(); }, 20s, 100ms))
        << "host " << host << " should answer on the added port";
  }
  auto removed = cluster_->shoal(1, {"service", "update", "--publish-rm", "80", "late"}, 60000);
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  for (int host = 1; host <= kMembers; ++host) {
    EXPECT_TRUE(wait_until([&] { return request(host, 8083).empty(); }, 20s, 100ms))
        << "host " << host << " still answers on the removed port";
  }
  auto typo = cluster_->shoal(1, {"service", "update", "--publish-rm", "81", "late"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.output, ::testing::HasSubstr("the service publishes no such port"));
  EXPECT_TRUE(cluster_->remove_service("late"));
}

TEST_F(SwarmPorts, AForcedUpdateUnderLoadFailsNoRequest) {
  auto scaled = cluster_->shoal(1, {"service", "scale", "web=3"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.output;
  ASSERT_TRUE(cluster_->wait_running("web", 3));
  auto before = web_task_names();
  for (int host = 1; host <= kMembers; ++host) {
    ASSERT_TRUE(wait_until([&] { return !request(host).empty(); }, 20s, 100ms)) << host;
  }

  auto start = std::chrono::steady_clock::now();
  Load load([this](int host) { return request(host); }, {1, 2, 3});
  auto updated = cluster_->shoal(1, {"service", "update", "--force", "web"}, 120000);
  ASSERT_EQ(updated.exit_code, 0) << updated.output;
  ASSERT_TRUE(cluster_->wait_running("web", 3));
  std::this_thread::sleep_for(2s);
  auto requests = load.stop();

  auto after = web_task_names();
  for (const auto& name : after) {
    EXPECT_FALSE(before.contains(name)) << "every task is replaced by --force";
  }
  std::printf("[ load     ] %zu requests during the update, %zu failed\n", requests.size(),
              failures(requests));
  EXPECT_GT(requests.size(), 10u);
  EXPECT_EQ(failures(requests), 0u) << describe_failures(requests, start);
}

// Last: it takes h2 out of the swarm for good.
TEST_F(SwarmPorts, ANodeKilledWithItsTasksFailsNoRequestAfter20Seconds) {
  auto running = cluster_->ps("web");
  ASSERT_TRUE(std::any_of(running.begin(), running.end(), [](const TaskRow& t) {
    return t.current_running() && t.node == "h2";
  })) << cluster_->ps_text("web");

  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_->stop_daemon(2, SIGKILL));
  remove_cgroup_tree(cgroup2_mount() + "/shoal/" + cluster_->node_tag(2));
  Load load([this](int host) { return request(host); }, {1, 3});
  std::this_thread::sleep_for(30s);
  auto requests = load.stop();

  std::vector<Load::Request> late;
  std::chrono::steady_clock::time_point last_failure = killed_at;
  for (const auto& r : requests) {
    if (r.at - killed_at >= 20s) {
      late.push_back(r);
    }
    if (r.answer.empty()) {
      last_failure = r.at;
    }
  }
  std::printf(
      "[ timing   ] last failed request %lld ms after the kill (%zu of %zu failed)\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(last_failure - killed_at).count()),
      failures(requests), requests.size());
  EXPECT_GT(late.size(), 20u);
  EXPECT_EQ(failures(late), 0u) << describe_failures(late, killed_at);
}

}  // namespace
}  // namespace shoal::e2e
