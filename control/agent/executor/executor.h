// The agent's executor: makes this node run what the dispatcher assigned it.
//
// It owns a thread that reconciles the latest assignments with what runs here: a new task gets
// its overlays, a namespace with one endpoint per network (the allocated addresses), and its
// process (task runtime); a task whose desired state moved past RUNNING, or that is no longer
// assigned, is stopped (SIGTERM, grace, SIGKILL) on a thread of its own so a slow stop holds
// nothing else up; a task that exits is reported and its network torn down. Overlay peers for
// the node's networks come from the gossip table "overlay_peer_table", where the executor
// publishes a row per endpoint it attaches (and deletes it at teardown).
//
// State reports go into a queue the session drains (take_reports()). Reports are idempotent and
// only move forward, so after a reconnect all_reports() simply says everything again.
// Restarts: tasks outlive the agent (the runtime adopts them); each task's networks are kept in
// <state>/agent/<task>.json so a task that is no longer assigned can be torn down after one.
//
// Its definitions span three files: executor.cpp (the loop, starts, rotation, reports, output),
// executor_network.cpp (overlay networks, endpoints, peers) and executor_stop.cpp (stops, exits,
// teardown, leave).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/agent/gossip/table_member.h"
#include "control/agent/plane/task_rotation.h"
#include "control/api/convert.h"
#include "control/runtime/task_runtime.h"
#include "dataplane/kernel.h"
#include "dataplane/overlay.h"
#include "swarm.pb.h"

namespace shoal::daemon {

struct ExecutorConfig {
  std::string node_tag;  // scopes netns, cgroups (short, [a-z0-9])
  Ipv4 advertise_addr;   // this node's VTEP
  std::string state_dir;
};

struct NodeIngress {
  std::string network_id;
  Ipv4Prefix addr;
  friend bool operator==(const NodeIngress&, const NodeIngress&) = default;
};

// What the executor drives: the kernel its overlays are made in, and the task runtime.
struct ExecutorParts {
  std::unique_ptr<dataplane::NetKernel> kernel;
  std::unique_ptr<runtime::TaskRuntime> runtime;
};

// This node's parts: netlink in the current namespace, the process runtime under
// <state_dir>/runtime (which hides the state dir from every task).
Result<ExecutorParts> node_parts(const ExecutorConfig& config);

class Executor {
 public:
  // `gossip` and `plane` outlive the executor.
  static Result<std::unique_ptr<Executor>> start(ExecutorConfig config, TableMember& gossip,
                                                 TaskRotation& plane, ExecutorParts parts);
  ~Executor();

  // The whole desired state, as the last Assignments message said.
  // `node_ingress`: this node's own endpoint on the ingress network (ingress0 in the node's
  // namespace, holding the gateway), which the routing mesh sends from.
  void assign(std::vector<api::TaskAssignment> tasks, std::vector<manager::Network> networks,
              std::optional<NodeIngress> node_ingress);
  std::vector<api::TaskStatus> take_reports();
  std::vector<api::TaskStatus> all_reports();
  // The tail of each task's output, for `service logs`.
  std::vector<api::LogLine> logs(const std::vector<std::string>& task_ids, uint32_t tail);
  // `shoal run`: the task this node runs for a run (a service of one task; once known, pass
  // its id, since the task leaves the assignment when it ends), its whole output so far, and
  // how it ended. Nothing while no such task is here yet.
  struct RunView {
    std::string task_id;
    std::string out, err;
    bool ended = false;
    int exit_code = 0;
    std::string failure;  // it could not start: why
  };
  std::optional<RunView> run_view(const std::string& service_id, const std::string& task_id);
  // Stops every task and removes every network of this node (swarm leave).
  Status leave();

  struct Key {
   private:
    friend class Executor;
    Key() = default;
  };
  Executor(Key, ExecutorConfig config, TableMember& gossip, TaskRotation& plane,
           std::unique_ptr<dataplane::NetKernel> kernel, dataplane::Overlay overlay,
           std::unique_ptr<runtime::TaskRuntime> runtime);

 private:
  struct Local {
    std::vector<std::string> networks;  // attached, in order (eth0, eth1, ...)
    std::vector<Ipv4Prefix> addresses;  // on each of them
    std::string netns;                  // the task's namespace
    bool in_rotation = false;           // the service plane has its rows (this process)
    manager::TaskState reported = manager::TaskState::kNew;
    std::string message;
    bool stopping = false;
    bool torn_down = false;
    // When this process started it (steady clock): bounds the wait for readiness. Unset for an
    // adopted task, which goes back in rotation at once.
    std::optional<std::chrono::steady_clock::time_point> started_at;
  };

  void loop();
  void reconcile();
  void start_and_stop();
  void spawn_stopper(const std::string& id, std::chrono::milliseconds grace,
                     std::chrono::milliseconds drain);
  void start_task(const api::TaskAssignment& task);
  Status prepare_network(const api::TaskAssignment& task, Local& local, std::string& netns);
  void stop_task(const std::string& id, std::chrono::milliseconds grace, bool report);
  void reap_exits();
  void teardown(const std::string& id, Local& local);
  void program_peers();
  void attach_node_ingress();
  bool ready_for_rotation(const std::string& id, const Local& local);
  TaskService task_service(const std::string& id, const Local& local) const;
  void put_in_rotation(const std::string& id, Local& local);
  void take_out_of_rotation(const std::string& id, Local& local);
  void publish_endpoints(const std::string& id, const Local& local);
  void withdraw_endpoints(const std::string& id, const Local& local);
  void note_peer(const gossip::networkdb::WatchEvent& event);
  void forget_finished();
  void report(const std::string& id, Local& local, manager::TaskState state,
              std::string message = {}, int exit_code = 0);
  Status save_local(const std::string& id, const Local& local);
  void load_locals();

  struct WatchGuard {
    std::mutex mutex;
    Executor* target = nullptr;
  };
  std::shared_ptr<WatchGuard> watch_guard_ = std::make_shared<WatchGuard>();
  ExecutorConfig config_;
  TableMember& gossip_;
  TaskRotation& plane_;
  std::unique_ptr<dataplane::NetKernel> kernel_;
  dataplane::Overlay overlay_;
  std::unique_ptr<runtime::TaskRuntime> runtime_;

  std::mutex mutex_;  // everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  bool changed_ = false;
  bool assignments_seen_ = false;
  bool awaiting_readiness_ = false;  // a task waits for its ports: look again soon
  bool needs_sweep_ = true;          // once after start, to clear what a previous run left
  std::map<std::string, api::TaskAssignment> assigned_;
  std::map<std::string, manager::Network> networks_;
  std::optional<NodeIngress> node_ingress_;           // as assigned
  std::optional<NodeIngress> node_ingress_attached_;  // as in the kernel
  // The overlay peer table as gossip has it: network -> endpoint id -> where it lives.
  std::map<std::string, std::map<std::string, dataplane::PeerSpec>> peers_;
  std::map<std::string, Local> local_;
  std::set<std::string> ensured_networks_;
  std::mutex reports_mutex_;  // reports_ only; taken after mutex_ when both are
  std::vector<api::TaskStatus> reports_;
  struct Stopper {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Stopper> stoppers_;     // joined once done, so they do not pile up
  std::deque<std::string> finished_;  // exited tasks whose logs are kept a while
  std::mutex kernel_mutex_;           // the overlay is not thread-safe
  std::thread thread_;
};

}  // namespace shoal::daemon
