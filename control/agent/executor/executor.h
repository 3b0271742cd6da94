// The agent's executor: the worker's bookkeeping of what the dispatcher assigned this node.
//
// It holds the latest assignments, a record of every task here (task_record.h, kept on disk so
// that a restarted agent adopts what still runs), and the queue of state reports the session
// drains (take_reports()). A thread reconciles the two: a task newly assigned is started, one
// whose desired state moved past RUNNING or that is no longer assigned is stopped on a thread of
// its own (a slow stop holds nothing else up), one that exited is reported; each through its
// controller (task_controller.h: network, runtime, rotation, stop), over the node's networks
// (task_networks.h: overlays, endpoints, peers from gossip).
//
// Reports are idempotent and only move forward, so after a reconnect all_reports() simply says
// everything again.
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

#include "control/agent/executor/task_controller.h"
#include "control/agent/executor/task_networks.h"
#include "control/agent/executor/task_record.h"
#include "control/agent/gossip/table_member.h"
#include "control/agent/plane/task_rotation.h"
#include "control/api/convert.h"
#include "control/runtime/task_runtime.h"
#include "dataplane/kernel.h"
#include "dataplane/overlay.h"
#include "swarm.pb.h"

namespace shoal::agent {

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
  void loop();
  void reconcile();
  void attach_node_ingress();
  void start_and_stop();
  void start_task(const api::TaskAssignment& task);
  void fail_start(const std::string& id, TaskRecord& record, manager::TaskState state,
                  const Error& why);
  void spawn_stopper(const std::string& id, std::chrono::milliseconds grace,
                     std::chrono::milliseconds drain);
  void stop_task(const std::string& id, std::chrono::milliseconds grace, bool report);
  void reap_exits();
  void teardown(const std::string& id, TaskRecord& record);
  void note_peer(const gossip::networkdb::WatchEvent& event);
  void forget_finished();
  void report(const std::string& id, TaskRecord& record, manager::TaskState state,
              std::string message = {}, int exit_code = 0);
  void load_records();

  struct WatchGuard {
    std::mutex mutex;
    Executor* target = nullptr;
  };
  std::shared_ptr<WatchGuard> watch_guard_ = std::make_shared<WatchGuard>();
  ExecutorConfig config_;
  TaskRotation& plane_;
  std::unique_ptr<runtime::TaskRuntime> runtime_;
  TaskNetworks networks_;
  TaskController controller_;
  TaskRecordFiles files_;

  std::mutex mutex_;  // everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  bool changed_ = false;
  bool assignments_seen_ = false;
  bool awaiting_readiness_ = false;  // a task waits for its ports: look again soon
  std::map<std::string, api::TaskAssignment> assigned_;
  NetworkMap assigned_networks_;
  std::optional<NodeIngress> node_ingress_;           // as assigned
  std::optional<NodeIngress> node_ingress_attached_;  // as in the kernel
  std::map<std::string, TaskRecord> records_;
  std::mutex reports_mutex_;  // reports_ only; taken after mutex_ when both are
  std::vector<api::TaskStatus> reports_;
  struct Stopper {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Stopper> stoppers_;     // joined once done, so they do not pile up
  std::deque<std::string> finished_;  // exited tasks whose logs are kept a while
  std::thread thread_;
};

}  // namespace shoal::agent
