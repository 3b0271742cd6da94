// The swarm end to end, on simulated hosts (issue #5's e2e list): shoald on every host, the
// shoal CLI against their sockets, tasks as real processes on the overlay.
//
// SwarmE2E shares one cluster (hosts 1-3 in the swarm, host 4 a shoald outside it) across its
// tests; every test leaves it as it found it (its services removed, nodes active and up).
// SwarmTeardown builds its own, since leaving the swarm ends it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::wait_until;

constexpr int kHosts = 4;    // h4 runs a shoald that is not in the swarm
constexpr int kMembers = 3;  // h1 manager, h2 and h3 workers

std::vector<std::string> nonempty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::vector<TaskRow> current_running(const std::vector<TaskRow>& tasks) {
  std::vector<TaskRow> out;
  std::copy_if(tasks.begin(), tasks.end(), std::back_inserter(out),
               [](const TaskRow& t) { return t.current_running(); });
  return out;
}

std::multiset<std::string> nodes_of(const std::vector<TaskRow>& tasks) {
  std::multiset<std::string> nodes;
  for (const auto& task : tasks) {
    nodes.insert(task.node);
  }
  return nodes;
}

std::set<std::string> ids_of(const std::vector<TaskRow>& tasks) {
  std::set<std::string> ids;
  for (const auto& task : tasks) {
    ids.insert(task.id);
  }
  return ids;
}

class SwarmE2E : public SharedSwarmTest<SwarmE2E> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = kHosts, .members = kMembers};

  static std::string grow(SwarmCluster& c) {
    return c.create_app_network({"--subnet", "10.77.0.0/24"});
  }
};

TEST_F(SwarmE2E, NodeLsShowsThreeReadyNodesOneLeader) {
  auto rows = c().json_rows(1, {"node", "ls"});
  ASSERT_EQ(rows.size(), 3u) << c().shoal(1, {"node", "ls"}).output;
  std::set<std::string> hostnames;
  int leaders = 0;
  int self = 0;
  for (const auto& row : rows) {
    hostnames.insert(row.value("Hostname", ""));
    EXPECT_EQ(row.value("Status", ""), "Ready") << row.dump();
    EXPECT_EQ(row.value("Availability", ""), "Active") << row.dump();
    EXPECT_FALSE(row.value("ID", "").empty());
    if (row.value("ManagerStatus", "") == "Leader") {
      ++leaders;
      EXPECT_EQ(row.value("Hostname", ""), "h1");
    } else {
      EXPECT_EQ(row.value("ManagerStatus", ""), "") << row.dump();
    }
    if (row.value("Self", false)) {
      ++self;
      EXPECT_EQ(row.value("Hostname", ""), "h1");
    }
  }
  EXPECT_EQ(hostnames, (std::set<std::string>{"h1", "h2", "h3"}));
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(self, 1);

  // The table: docker's header, this node starred, the leader marked.
  auto table = c().shoal(1, {"node", "ls"});
  ASSERT_EQ(table.exit_code, 0);
  auto lines = nonempty_lines(table.output);
  ASSERT_EQ(lines.size(), 4u) << table.output;
  EXPECT_THAT(lines[0], HasSubstr("HOSTNAME"));
  EXPECT_THAT(lines[0], HasSubstr("MANAGER STATUS"));
  EXPECT_THAT(table.output, HasSubstr(" * "));
  EXPECT_THAT(table.output, HasSubstr("Leader"));
}

// Each agent reports its load balancer when it opens its session; this host runs eBPF.
TEST_F(SwarmE2E, NodeInspectShowsEachNodesLoadBalancer) {
  auto inspect = c().shoal(1, {"node", "inspect", "h1", "h2", "h3"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  auto array = nlohmann::json::parse(inspect.output, nullptr, false);
  ASSERT_TRUE(array.is_array()) << inspect.output;
  ASSERT_EQ(array.size(), 3u) << inspect.output;
  for (const auto& node : array) {
    EXPECT_EQ(node.value("LoadBalancer", ""), "ebpf") << node.dump();
  }
  auto pretty = c().shoal(1, {"node", "inspect", "--pretty", "h2"});
  EXPECT_THAT(pretty.output, HasSubstr("Load Balancer:\t\tebpf\n"));
}

TEST_F(SwarmE2E, WrongTokensAreRefusedAndTheNodeStaysOut) {
  auto token = c().shoal(1, {"swarm", "join-token", "-q", "worker"});
  ASSERT_EQ(token.exit_code, 0) << token.output;
  std::string good = nonempty_lines(token.output).at(0);
  ASSERT_TRUE(good.starts_with("SWMTKN-1-")) << good;
  const std::string manager = c().address(1) + ":2377";

  auto refused = [&](const std::string& bad, const std::string& why) {
    auto join = c().shoal(4, {"swarm", "join", "--token", bad, manager});
    EXPECT_EQ(join.exit_code, 1) << why << ": " << join.output;
    auto lines = nonempty_lines(join.output);
    EXPECT_EQ(lines.size(), 1u) << why << ": " << join.output;
    return join.output;
  };

  // The secret changed (same length and alphabet).
  std::string changed = good;
  changed.back() = changed.back() == '0' ? '1' : '0';
  EXPECT_THAT(refused(changed, "changed secret"), HasSubstr("join token: is not valid"));

  // The CA digest changed: the joining node refuses the manager before presenting anything.
  std::string digest = good;
  size_t at = std::string("SWMTKN-1-").size() + 3;
  digest[at] = digest[at] == 'a' ? 'b' : 'a';
  EXPECT_THAT(refused(digest, "other CA digest"), HasSubstr("does not match"));

  // A manager token once rotated admits nobody, and the refused node is not registered.
  auto manager_token = c().shoal(1, {"swarm", "join-token", "-q", "manager"});
  ASSERT_EQ(manager_token.exit_code, 0) << manager_token.output;
  auto rotated = c().shoal(1, {"swarm", "join-token", "--rotate", "-q", "manager"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  EXPECT_THAT(refused(nonempty_lines(manager_token.output).at(0), "rotated manager token"),
              HasSubstr("join token: is not valid"));
  EXPECT_EQ(c().node_status().size(), 3u) << c().shoal(1, {"node", "ls"}).output;

  // Not a token.
  EXPECT_THAT(refused("SWMTKN-1-tooshort", "malformed"), HasSubstr("token"));

  // A rotated token no longer works; the new one is still refused here for its changed secret.
  auto rotate = c().shoal(1, {"swarm", "join-token", "--rotate", "-q", "worker"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  EXPECT_THAT(rotate.output, ::testing::Not(HasSubstr(good)));
  EXPECT_THAT(refused(good, "rotated"), HasSubstr("join token: is not valid"));

  // Nothing joined: three nodes, and host 4 is not in a swarm.
  EXPECT_EQ(c().node_status().size(), 3u);
  auto leave = c().shoal(4, {"swarm", "leave"});
  EXPECT_EQ(leave.exit_code, 1);
  EXPECT_THAT(leave.output, HasSubstr("not part of a swarm"));
}

TEST_F(SwarmE2E, WorkerRefusesControlCommands) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"service", "ls"}, {"node", "ls"}, {"network", "ls"}}) {
    auto result = c().shoal(2, args);
    EXPECT_EQ(result.exit_code, 1) << args[0] << " " << args[1];
    EXPECT_THAT(result.output, HasSubstr("This node is not a swarm manager."));
    EXPECT_EQ(nonempty_lines(result.output).size(), 1u) << result.output;
  }
}

TEST_F(SwarmE2E, BadInputGetsOneLineAndChangesNothing) {
  ASSERT_TRUE(c().create_service("dup", 0));
  auto state = [&] {
    return c().shoal(1, {"service", "ls", "--no-trunc"}).output + "\n" +
           c().shoal(1, {"network", "ls", "--no-trunc"}).output;
  };
  auto before = state();

  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{"service", "ps", "nosuch"}, "nosuch"},
      {{"service", "rm", "nosuch"}, "nosuch"},
      {{"service", "scale", "nosuch=2"}, "nosuch"},
      {{"service", "logs", "nosuch"}, "nosuch"},
      {{"network", "create", "-d", "overlay", "--subnet", "10.0.0.0/33", "bad1"}, "10.0.0.0/33"},
      {{"network", "create", "-d", "overlay", "--subnet", "banana", "bad2"}, "banana"},
      {{"network", "create", "-d", "overlay", "--subnet", "10.77.0.128/25", "bad3"}, "overlaps"},
      {{"network", "create", "-d", "overlay", "app"}, "already exists"},
      {{"service", "create", "--name", "bad4", "--replicas", "-1", "-d", "--", "/bin/true"},
       "replicas"},
      {{"service", "create", "--name", "bad5", "--bogus-flag", "-d", "--", "/bin/true"},
       "bogus-flag"},
      {{"service", "create", "--name", "dup", "-d", "--", "/bin/true"}, "already exists"},
      {{"service", "create", "--name", "bad6", "--network", "nonet", "-d", "--", "/bin/true"},
       "nonet"},
      {{"node", "update", "--availability", "drain", "nosuchnode"}, "nosuchnode"},
  };
  for (const auto& test : cases) {
    std::string command;
    for (const auto& word : test.args) {
      command += word + " ";
    }
    auto result = c().shoal(1, test.args);
    EXPECT_EQ(result.exit_code, 1) << command << "\n" << result.output;
    EXPECT_EQ(nonempty_lines(result.output).size(), 1u) << command << "\n" << result.output;
    EXPECT_THAT(result.output, HasSubstr(test.says)) << command;
  }
  EXPECT_EQ(state(), before);
  auto services = c().json_rows(1, {"service", "ls"});
  EXPECT_EQ(std::count_if(services.begin(), services.end(),
                          [](const auto& row) { return row.value("Name", "") == "dup"; }),
            1);
  EXPECT_TRUE(c().remove_service("dup"));
}

TEST_F(SwarmE2E, ServiceSpreadsOverTheHostsAndTasksReachEachOtherOnTheOverlay) {
  // The network the suite made is there, an overlay with its subnet.
  auto networks = c().json_rows(1, {"network", "ls"});
  auto app = std::find_if(networks.begin(), networks.end(),
                          [](const auto& row) { return row.value("Name", "") == "app"; });
  ASSERT_NE(app, networks.end());
  EXPECT_EQ(app->value("Driver", ""), "overlay");
  auto inspect = c().shoal(1, {"network", "inspect", "app"});
  EXPECT_THAT(inspect.output, HasSubstr("10.77.0.0/24"));

  ASSERT_TRUE(c().create_service("web", 3));
  ASSERT_TRUE(c().wait_running("web", 3));
  auto tasks = current_running(c().ps("web"));
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(nodes_of(tasks), (std::multiset<std::string>{"h1", "h2", "h3"})) << c().ps_text("web");

  // Every task has its namespace and an address in the network's subnet.
  std::vector<std::string> addresses;
  for (const auto& task : tasks) {
    auto ns = c().task_namespace(task);
    ASSERT_TRUE(fs::exists("/run/netns/" + ns)) << ns;
    auto address = c().task_address(task);
    EXPECT_TRUE(address.starts_with("10.77.0.")) << ns << ": " << address;
    addresses.push_back(address);
  }
  ASSERT_EQ(std::set<std::string>(addresses.begin(), addresses.end()).size(), 3u);

  // Each task reaches the other two, across hosts, over VXLAN.
  for (size_t from = 0; from < tasks.size(); ++from) {
    for (size_t to = 0; to < tasks.size(); ++to) {
      if (from == to) {
        continue;
      }
      auto ns = c().task_namespace(tasks[from]);
      std::string output;
      bool reached = wait_until(
          [&] {
            auto ping = testing::run_in_ns(ns, {"ping", "-c1", "-W1", addresses[to]}, 5000);
            output = ping.ok() ? ping->output : ping.error().message();
            return ping.ok() && ping->exit_code == 0;
          },
          10s, 100ms);
      EXPECT_TRUE(reached) << tasks[from].node << " -> " << tasks[to].node << " (" << addresses[to]
                           << "):\n"
                           << output;
    }
  }
  EXPECT_TRUE(c().remove_service("web"));
}

// The overlay neighbours (IP -> MAC) that a host programs for the tasks on other hosts.
std::string overlay_neighbours(SwarmCluster& c, int host, const std::string& network_id) {
  auto shown = testing::run_command({"ip", "-n", "shoal-" + c.node_tag(host) + "-net-" + network_id,
                                     "-4", "neigh", "show", "dev", "vxlan0"});
  return shown.ok() ? shown->output : "";
}

// A removed task's address can go to a new task on another host: its old peer entries must
// leave every host, or they would send that address's traffic to the old host.
TEST_F(SwarmE2E, ARemovedServicesTasksLeaveTheOtherHostsOverlayPeers) {
  auto networks = c().json_rows(1, {"network", "ls", "--no-trunc"});
  auto app = std::find_if(networks.begin(), networks.end(),
                          [](const auto& row) { return row.value("Name", "") == "app"; });
  ASSERT_NE(app, networks.end());
  const std::string network_id = app->value("ID", "");
  // `kept` holds the network on every host once `peers` is gone.
  ASSERT_TRUE(c().create_service("kept", 3));
  ASSERT_TRUE(c().create_service("peers", 3));
  ASSERT_TRUE(c().wait_running("kept", 3));
  ASSERT_TRUE(c().wait_running("peers", 3));
  auto kept = current_running(c().ps("kept"));
  auto removed = current_running(c().ps("peers"));
  ASSERT_EQ(kept.size() + removed.size(), 6u);
  std::map<std::string, std::string> address_of;  // task id -> address
  for (const auto& task : kept)
    address_of[task.id] = c().task_address(task);
  for (const auto& task : removed)
    address_of[task.id] = c().task_address(task);
  auto programmed = [&](int host, const TaskRow& task) {
    return overlay_neighbours(c(), host, network_id).find(address_of[task.id] + " ") !=
           std::string::npos;
  };
  // Until every host has the tasks of the other hosts as peers (or, with `want` false, none).
  auto expect_peers = [&](const std::vector<TaskRow>& tasks, bool want) {
    for (int host = 1; host <= kMembers; ++host) {
      for (const auto& task : tasks) {
        if (c().host_of(task.node) == host)
          continue;
        EXPECT_TRUE(wait_until([&] { return programmed(host, task) == want; }, 10s, 100ms))
            << task.node << "'s task " << address_of[task.id] << " on h" << host
            << (want ? " is not a peer" : " is still a peer") << ":\n"
            << overlay_neighbours(c(), host, network_id);
      }
    }
  };
  expect_peers(kept, true);
  expect_peers(removed, true);

  ASSERT_TRUE(c().remove_service("peers"));
  expect_peers(removed, false);
  expect_peers(kept, true);
  EXPECT_TRUE(c().remove_service("kept"));
}

TEST_F(SwarmE2E, KilledTaskProcessIsReplaced) {
  ASSERT_TRUE(c().create_service("victim", 3));
  ASSERT_TRUE(c().wait_running("victim", 3));
  auto before = current_running(c().ps("victim"));
  ASSERT_EQ(before.size(), 3u);
  const TaskRow victim = before.front();
  auto ns = c().task_namespace(victim);
  // The task's own process: the namespace also holds its shim, which must survive to report.
  std::vector<pid_t> pids;
  for (pid_t pid : c().namespace_pids(ns)) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "shoal-task-shim") {
      pids.push_back(pid);
    }
  }
  ASSERT_FALSE(pids.empty()) << "no task process in " << ns;
  for (pid_t pid : pids) {
    ::kill(pid, SIGKILL);
  }

  // A new task in the victim's slot runs; the victim is in the slot's history as failed.
  TaskRow replacement;
  bool replaced = wait_until(
      [&] {
        auto tasks = c().ps("victim");
        auto running = current_running(tasks);
        auto old = std::find_if(tasks.begin(), tasks.end(),
                                [&](const TaskRow& t) { return t.id == victim.id; });
        auto fresh = std::find_if(running.begin(), running.end(), [&](const TaskRow& t) {
          return t.slot == victim.slot && t.id != victim.id;
        });
        if (old == tasks.end() || fresh == running.end() || running.size() != 3) {
          return false;
        }
        replacement = *fresh;
        return old->history && old->state == "failed" && old->desired != "running";
      },
      20s);
  ASSERT_TRUE(replaced) << c().ps_text("victim");
  EXPECT_TRUE(fs::exists("/run/netns/" + c().task_namespace(replacement)));
  // The other two were left alone.
  auto after = ids_of(current_running(c().ps("victim")));
  for (size_t i = 1; i < before.size(); ++i) {
    EXPECT_TRUE(after.contains(before[i].id)) << before[i].id;
  }
  EXPECT_TRUE(c().remove_service("victim"));
}

TEST_F(SwarmE2E, ScaleToFiveThenDownToTwo) {
  ASSERT_TRUE(c().create_service("scaler", 3));
  ASSERT_TRUE(c().wait_running("scaler", 3));
  auto first = ids_of(current_running(c().ps("scaler")));

  auto up = c().shoal(1, {"service", "scale", "scaler=5", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  EXPECT_THAT(up.output, HasSubstr("scaler scaled to 5"));
  ASSERT_TRUE(c().wait_running("scaler", 5));
  auto five = current_running(c().ps("scaler"));
  // Scaling up adds tasks, it does not replace the running ones; every host gets some.
  for (const auto& id : first) {
    EXPECT_TRUE(ids_of(five).contains(id)) << id;
  }
  auto hosts = nodes_of(five);
  EXPECT_EQ(std::set<std::string>(hosts.begin(), hosts.end()).size(), 3u) << c().ps_text("scaler");

  auto down = c().shoal(1, {"service", "scale", "scaler=2", "-d"});
  ASSERT_EQ(down.exit_code, 0) << down.output;
  ASSERT_TRUE(c().wait_running("scaler", 2));
  auto listed = c().json_rows(1, {"service", "ls"});
  auto row = std::find_if(listed.begin(), listed.end(),
                          [](const auto& r) { return r.value("Name", "") == "scaler"; });
  ASSERT_NE(row, listed.end());
  EXPECT_EQ(row->value("Replicas", ""), "2/2");
  // The three removed tasks' processes are stopped and their namespaces gone.
  std::string left;
  bool cleaned = wait_until(
      [&] {
        left.clear();
        auto running = ids_of(current_running(c().ps("scaler")));
        for (const auto& task : five) {
          if (!running.contains(task.id) && fs::exists("/run/netns/" + c().task_namespace(task))) {
            left += task.id + " ";
          }
        }
        return left.empty();
      },
      15s);
  EXPECT_TRUE(cleaned) << "still there: " << left;
  EXPECT_TRUE(c().remove_service("scaler"));
}

TEST_F(SwarmE2E, DrainedNodesTasksMoveToTheOthers) {
  ASSERT_TRUE(c().create_service("drainer", 3));
  ASSERT_TRUE(c().wait_running("drainer", 3));
  auto drain = c().shoal(1, {"node", "update", "--availability", "drain", "h2"});
  ASSERT_EQ(drain.exit_code, 0) << drain.output;

  bool moved = wait_until(
      [&] {
        auto running = current_running(c().ps("drainer"));
        return running.size() == 3 && !nodes_of(running).contains("h2");
      },
      20s);
  EXPECT_TRUE(moved) << c().ps_text("drainer");
  // Nothing of the service is left running on h2: its task namespaces are gone.
  bool gone = wait_until(
      [&] {
        for (const auto& task : c().ps("drainer")) {
          if (task.node == "h2" && fs::exists("/run/netns/" + c().task_namespace(task))) {
            return false;
          }
        }
        return true;
      },
      15s);
  EXPECT_TRUE(gone) << c().ps_text("drainer");
  auto nodes = c().json_rows(1, {"node", "ls"});
  for (const auto& row : nodes) {
    if (row.value("Hostname", "") == "h2") {
      EXPECT_EQ(row.value("Availability", ""), "Drain");
    }
  }

  auto active = c().shoal(1, {"node", "update", "--availability", "active", "h2"});
  EXPECT_EQ(active.exit_code, 0) << active.output;
  EXPECT_TRUE(c().remove_service("drainer"));
}

TEST_F(SwarmE2E, ServiceLogsShowEachTasksOutput) {
  ASSERT_TRUE(c().create_service("logger", 3, "echo hello from $(hostname); exec sleep 1000"));
  ASSERT_TRUE(c().wait_running("logger", 3));
  auto tasks = current_running(c().ps("logger"));
  ASSERT_EQ(tasks.size(), 3u);

  // logger.<slot>.<task id, 12 characters>@<host>    | hello from <the same: the hostname>
  std::string output;
  bool all = wait_until(
      [&] {
        auto logs = c().shoal(1, {"service", "logs", "logger"});
        output = logs.output;
        if (logs.exit_code != 0) {
          return false;
        }
        for (const auto& task : tasks) {
          std::string prefix =
              "logger." + std::to_string(task.slot) + "." + task.id.substr(0, 12) + "@" + task.node;
          bool found = false;
          for (const auto& line : nonempty_lines(logs.output)) {
            if (line.starts_with(prefix) &&
                line.find("| hello from " + task.id.substr(0, 12)) != std::string::npos) {
              found = true;
            }
          }
          if (!found) {
            return false;
          }
        }
        return true;
      },
      15s);
  EXPECT_TRUE(all) << output;
  EXPECT_EQ(nonempty_lines(output).size(), 3u) << output;

  auto tail = c().shoal(1, {"service", "logs", "--tail", "1", "logger"});
  EXPECT_EQ(tail.exit_code, 0);
  EXPECT_EQ(nonempty_lines(tail.output).size(), 3u) << tail.output;
  EXPECT_TRUE(c().remove_service("logger"));
}

TEST_F(SwarmE2E, ManagerRestartKeepsEveryObjectAndTheTasksRunning) {
  ASSERT_TRUE(c().create_service("survivor", 3));
  ASSERT_TRUE(c().wait_running("survivor", 3));
  auto nodes_before = c().shoal(1, {"node", "ls", "-q"}).output;
  auto networks_before = c().shoal(1, {"network", "ls", "--no-trunc", "-q"}).output;
  auto services_before = c().shoal(1, {"service", "ls", "--no-trunc", "-q"}).output;
  auto tasks_before = current_running(c().ps("survivor"));
  std::map<std::string, std::vector<pid_t>> pids_before;
  for (const auto& task : tasks_before) {
    pids_before[task.id] = c().namespace_pids(c().task_namespace(task));
    ASSERT_FALSE(pids_before[task.id].empty()) << task.id;
  }

  ASSERT_TRUE(c().stop_daemon(1, SIGTERM));
  ASSERT_TRUE(c().start_daemon(1));

  EXPECT_EQ(c().shoal(1, {"node", "ls", "-q"}).output, nodes_before);
  EXPECT_EQ(c().shoal(1, {"network", "ls", "--no-trunc", "-q"}).output, networks_before);
  EXPECT_EQ(c().shoal(1, {"service", "ls", "--no-trunc", "-q"}).output, services_before);
  bool ready = wait_until(
      [&] {
        auto status = c().node_status();
        return status.size() == 3 && std::all_of(status.begin(), status.end(), [](auto& entry) {
                 return entry.second == "Ready";
               });
      },
      15s);
  EXPECT_TRUE(ready) << c().shoal(1, {"node", "ls"}).output;
  // The same tasks, still running, with the same processes.
  ASSERT_TRUE(c().wait_running("survivor", 3));
  EXPECT_EQ(ids_of(current_running(c().ps("survivor"))), ids_of(tasks_before))
      << c().ps_text("survivor");
  for (const auto& task : tasks_before) {
    EXPECT_EQ(c().namespace_pids(c().task_namespace(task)), pids_before[task.id]) << task.id;
  }
  // And the manager still manages: a scale goes through.
  auto scaled = c().shoal(1, {"service", "scale", "survivor=4", "-d"});
  EXPECT_EQ(scaled.exit_code, 0) << scaled.output;
  EXPECT_TRUE(c().wait_running("survivor", 4));
  EXPECT_TRUE(c().remove_service("survivor"));
}

// Last in the suite: it kills a worker's daemon (and brings it back at the end).
TEST_F(SwarmE2E, KilledWorkerDaemonsTasksAreRescheduled) {
  ASSERT_TRUE(c().create_service("resched", 3));
  ASSERT_TRUE(c().wait_running("resched", 3));
  auto before = current_running(c().ps("resched"));
  ASSERT_TRUE(nodes_of(before).contains("h3")) << c().ps_text("resched");

  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(c().stop_daemon(3, SIGKILL));
  bool down = wait_until([&] { return c().node_status()["h3"] == "Down"; }, 10s);
  auto down_after = std::chrono::steady_clock::now() - killed_at;
  ASSERT_TRUE(down) << c().shoal(1, {"node", "ls"}).output;
  std::printf("[ timing   ] h3 down %lld ms after its shoald was killed\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(down_after).count()));

  // Three running again, none of them on h3.
  bool rescheduled = wait_until(
      [&] {
        auto running = current_running(c().ps("resched"));
        return running.size() == 3 && !nodes_of(running).contains("h3");
      },
      15s);
  EXPECT_TRUE(rescheduled) << c().ps_text("resched");
  auto listed = c().json_rows(1, {"service", "ls"});
  for (const auto& row : listed) {
    if (row.value("Name", "") == "resched") {
      EXPECT_EQ(row.value("Replicas", ""), "3/3");
    }
  }

  // While h3's daemon was gone its task kept running (tasks outlive the agent).
  for (const auto& task : before) {
    if (task.node == "h3") {
      EXPECT_FALSE(c().namespace_pids(c().task_namespace(task)).empty()) << task.id;
    }
  }

  // h3 comes back and is Ready again; its old task, rescheduled elsewhere, is stopped there.
  ASSERT_TRUE(c().start_daemon(3));
  bool ready = wait_until([&] { return c().node_status()["h3"] == "Ready"; }, 15s);
  EXPECT_TRUE(ready) << c().shoal(1, {"node", "ls"}).output;
  std::string still;
  bool reconciled = wait_until(
      [&] {
        still.clear();
        for (const auto& task : before) {
          if (task.node == "h3" && fs::exists("/run/netns/" + c().task_namespace(task))) {
            still += task.id + " ";
          }
        }
        return still.empty();
      },
      15s);
  EXPECT_TRUE(reconciled) << "h3 still runs " << still << "\n" << c().ps_text("resched");
  EXPECT_TRUE(c().wait_running("resched", 3));
  EXPECT_TRUE(c().remove_service("resched"));
}

// ---- leaving, and what is left afterwards ----

struct NodeLeftovers {
  std::vector<std::string> namespaces;  // shoal-<node tag>-*
  bool cgroup = false;                  // <cgroup2>/shoal/<node tag>
  std::vector<std::string> links;       // in the host namespace, besides lo and its uplink
};

NodeLeftovers leftovers(SwarmCluster& cluster, int host) {
  NodeLeftovers left;
  auto listed = testing::run_command({"ip", "netns", "list"});
  std::string prefix = "shoal-" + cluster.node_tag(host) + "-";
  if (listed.ok()) {
    for (const auto& line : nonempty_lines(listed->output)) {
      std::string name = line.substr(0, line.find(' '));
      if (name.starts_with(prefix)) {
        left.namespaces.push_back(name);
      }
    }
  }
  auto cgroup = cgroup2_mount();
  left.cgroup = !cgroup.empty() && fs::exists(cgroup + "/shoal/" + cluster.node_tag(host));
  const std::string uplink = cluster.testbed().host_uplink(host);
  auto links = testing::run_command({"ip", "-n", cluster.testbed().host_ns(host), "-o", "link"});
  if (links.ok()) {
    for (const auto& line : nonempty_lines(links->output)) {
      // "1: lo: <LOOPBACK,..." / "2: ens3@if5: ..."
      auto start = line.find(": ");
      auto end = line.find_first_of(":@", start + 2);
      if (start == std::string::npos || end == std::string::npos) {
        continue;
      }
      std::string name = line.substr(start + 2, end - start - 2);
      if (name != "lo" && name != uplink) {
        left.links.push_back(name);
      }
    }
  }
  return left;
}

std::vector<pid_t> cgroup_pids(const std::string& dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return pids;
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == "cgroup.procs") {
      std::ifstream in(it->path());
      for (pid_t pid; in >> pid;) {
        pids.push_back(pid);
      }
    }
  }
  return pids;
}

TEST(SwarmTeardown, LeavingRemovesTasksNamespacesLinksAndCgroups) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "the e2e tests need root (network namespaces, cgroups)";
  }
  std::string error;
  auto cluster = SwarmCluster::start(3, 3, error);
  ASSERT_NE(cluster, nullptr) << error;
  auto& c = *cluster;
  auto created = c.shoal(1, {"network", "create", "-d", "overlay", "app"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  ASSERT_TRUE(c.create_service("web", 3));
  ASSERT_TRUE(c.wait_running("web", 3)) << c.daemon_logs();

  // Every process the swarm runs for its tasks (shims and tasks), from the node cgroups and
  // the task namespaces.
  auto cgroup = cgroup2_mount();
  std::vector<pid_t> task_pids;
  for (int host = 1; host <= 3; ++host) {
    auto pids = cgroup_pids(cgroup + "/shoal/" + c.node_tag(host));
    task_pids.insert(task_pids.end(), pids.begin(), pids.end());
    EXPECT_FALSE(leftovers(c, host).namespaces.empty()) << "h" << host << " runs nothing?";
  }
  for (const auto& task : c.ps("web")) {
    auto pids = c.namespace_pids(c.task_namespace(task));
    task_pids.insert(task_pids.end(), pids.begin(), pids.end());
  }
  ASSERT_GE(task_pids.size(), 3u);

  for (int host : {2, 3}) {
    auto left = c.shoal(host, {"swarm", "leave"});
    EXPECT_EQ(left.exit_code, 0) << "h" << host << ": " << left.output;
    EXPECT_THAT(left.output, HasSubstr("Node left the swarm."));
  }
  auto refused = c.shoal(1, {"swarm", "leave"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("--force"));
  auto forced = c.shoal(1, {"swarm", "leave", "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.output;

  // Every node is out, with nothing left behind, its daemon still up. A link whose peer was
  // in a deleted sandbox goes when the kernel destroys that namespace, which it does
  // asynchronously: links get a few seconds.
  for (int host = 1; host <= 3; ++host) {
    auto gone_at = std::chrono::steady_clock::now();
    NodeLeftovers left;
    wait_until(
        [&] {
          left = leftovers(c, host);
          return left.namespaces.empty() && !left.cgroup && left.links.empty();
        },
        5s, 50ms);
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - gone_at);
    if (waited > 100ms) {
      std::printf("[ timing   ] h%d: leftovers took %lld ms to go after leave\n", host,
                  static_cast<long long>(waited.count()));
    }
    std::string namespaces;
    for (const auto& ns : left.namespaces) {
      namespaces += ns + " ";
    }
    std::string links;
    for (const auto& link : left.links) {
      links += link + " ";
    }
    EXPECT_TRUE(left.namespaces.empty()) << "h" << host << ": " << namespaces;
    EXPECT_FALSE(left.cgroup) << "h" << host << ": " << cgroup << "/shoal/" << c.node_tag(host);
    EXPECT_TRUE(left.links.empty()) << "h" << host << ": " << links;
    auto ls = c.shoal(host, {"node", "ls"});
    EXPECT_EQ(ls.exit_code, 1);
    auto again = c.shoal(host, {"swarm", "leave"});
    EXPECT_THAT(again.output, HasSubstr("not part of a swarm"));
  }
  std::string alive;
  for (pid_t pid : task_pids) {
    if (process_alive(pid)) {
      alive += std::to_string(pid) + " ";
    }
  }
  EXPECT_TRUE(alive.empty()) << "task processes still alive: " << alive;
  if (HasFailure()) {
    std::printf("%s", c.daemon_logs().c_str());
  }

  // And the testbed's teardown leaves nothing of the run.
  std::string run = c.testbed().run();
  cluster.reset();
  auto left = run_leftovers(run);
  EXPECT_TRUE(left.empty()) << left;
}

}  // namespace
}  // namespace shoal::e2e
