// A swarm on simulated hosts for the end-to-end tests: a testbed run with one shoald per host
// (processes this test owns, killed in the destructor whatever happened), their state
// directories in a temporary directory (removed in the destructor), and the `shoal` CLI
// against any of them.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/testbed.h"

namespace shoal::e2e {

// One row of `shoal service ps --no-trunc --format json`.
struct TaskRow {
  std::string id;  // full
  std::string service;
  uint64_t slot = 0;
  bool history = false;  // an earlier task of its slot (" \_ web.1")
  std::string node;      // host name
  std::string desired;   // "running", "shutdown", ...
  std::string state;     // the observed state's word: "running", "failed", ...
  std::string error;
  bool current_running() const { return desired == "running" && state == "running"; }
};

class SwarmCluster {
 public:
  // `hosts` simulated hosts, each running a shoald; the first `members` of them form the swarm
  // (init on host 1 with a 1 s dispatcher heartbeat, joins on the others), the rest stay out.
  static std::unique_ptr<SwarmCluster> start(int hosts, int members, std::string& error);
  ~SwarmCluster();
  SwarmCluster(const SwarmCluster&) = delete;
  SwarmCluster& operator=(const SwarmCluster&) = delete;

  testing::Testbed& testbed() { return *testbed_; }
  int hosts() const { return testbed_->hosts(); }
  std::string hostname(int host) const { return "h" + std::to_string(host); }
  std::string node_tag(int host) const { return testbed_->node_tag(host); }
  std::string state_dir(int host) const;
  std::string address(int host) const { return testbed_->host_ip(host).str(); }
  pid_t daemon_pid(int host) const { return pids_.at(host); }

  // Starts host's shoald on its state directory and waits until its socket answers. The node
  // names itself hostname(host) unless `node_name` says otherwise.
  ::testing::AssertionResult start_daemon(int host, const std::string& node_name = "");
  // Sends `signal` to host's shoald and waits (up to `timeout`) for it to exit. SIGKILL, the
  // host dying, kills its etcd member too.
  ::testing::AssertionResult stop_daemon(
      int host, int signal, std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // `shoal -H unix://<host's socket> args...`.
  testing::CommandResult shoal(int host, std::vector<std::string> args, int timeout_ms = 30000);
  // The rows of a `--format json` listing on host (empty when the command fails).
  std::vector<nlohmann::json> json_rows(int host, std::vector<std::string> args);
  // The host whose socket the helpers below use (a manager; host 1 unless told).
  void use_manager(int host) { manager_host_ = host; }
  int manager_host() const { return manager_host_; }
  // `service ps` of one service, from the manager.
  std::vector<TaskRow> ps(const std::string& service);
  std::string ps_text(const std::string& service);   // for failure messages
  std::map<std::string, std::string> node_status();  // host name -> "Ready"/"Down"/...

  // Creates the overlay network `app` the services below attach to (from the manager, `extra`
  // options before the name): "" when created, else why not.
  std::string create_app_network(std::vector<std::string> extra = {});
  // Creates a replicated service on the overlay network `app` whose tasks run `command` (sh
  // -c), with a short restart delay and stop grace period, without waiting.
  ::testing::AssertionResult create_service(const std::string& name, int replicas,
                                            const std::string& command = "exec sleep 1000",
                                            std::vector<std::string> extra = {});
  // Until `count` tasks of the service are desired and observed running, and no more.
  ::testing::AssertionResult wait_running(
      const std::string& name, size_t count,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Removes the service and waits until none of its tasks runs on any node.
  ::testing::AssertionResult remove_service(const std::string& name);

  // The network namespace of a task running on host (shoal-<node tag>-ep-<task id>).
  std::string task_namespace(const TaskRow& task) const;
  int host_of(const std::string& hostname) const;
  // The task's address on its first network (eth0), without the prefix length.
  std::string task_address(const TaskRow& task);
  std::vector<pid_t> namespace_pids(const std::string& ns);

  // The body of http://<host's address>:port/ fetched from `from_host`, without its trailing
  // newline ("" when no answer came within 2 s).
  std::string http_get(int from_host, int host, int port);

  // The last lines of every daemon's log, for a failing test's output.
  std::string daemon_logs(size_t lines = 40) const;

 private:
  SwarmCluster(std::unique_ptr<testing::Testbed> testbed, std::string root);
  void kill_daemons();
  ::testing::AssertionResult kill_etcd_members(int host);

  std::unique_ptr<testing::Testbed> testbed_;
  std::string root_;  // temporary directory: state dirs and daemon logs
  std::map<int, pid_t> pids_;
  int manager_host_ = 1;
};

// The cgroup2 mount point of this (root) mount namespace, or empty.
std::string cgroup2_mount();
bool process_alive(pid_t pid);
// Kills what runs in a cgroup tree and removes its directories, leaves first.
void remove_cgroup_tree(const std::string& dir);
// Namespaces and node cgroups of a testbed run that still exist, space separated ("" when
// none): what a cluster's teardown should have removed.
std::string run_leftovers(const std::string& run);

}  // namespace shoal::e2e
