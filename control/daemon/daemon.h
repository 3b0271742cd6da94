// shoald's node lifecycle: inactive, or in a swarm as a worker or as the manager.
//
// Everything a node is lives in its state directory: certificates (pki's files), node.json (id,
// role, manager address, swarm options), the manager's store and cluster secrets, the agent's
// task records. Starting on a state directory resumes whatever it describes; `swarm leave`
// stops the node's tasks, removes its overlays and deletes that state.
//
// Servers: the unix socket (Local + Control) always; the manager port (Control + Dispatcher +
// Ca, mutual TLS) on a manager.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>

#include "control/daemon/agent_session.h"
#include "control/daemon/cluster_secrets.h"
#include "control/daemon/control_service.h"
#include "control/daemon/dispatcher_service.h"
#include "control/daemon/executor.h"
#include "control/daemon/manager_runtime.h"
#include "ipvs/backend_choice.h"
#include "swarm.grpc.pb.h"

namespace shoal::daemon {

struct DaemonOptions {
  std::string state_dir = "/var/lib/shoal";
  std::string advertise_addr;  // IPv4; swarm init/join may name it instead
  std::string listen_addr = "0.0.0.0:2377";
  std::string node_name;  // empty: the host name
  uint16_t gossip_port = 7946;
  std::string node_tag;  // scopes kernel names; empty: from the node id (tests use the host's)
  lb::BackendKind lb_backend = lb::BackendKind::kEbpf;  // shoald --lb-backend, probed
};

// What node.json holds.
struct NodeState {
  std::string node_id;
  std::string role;  // worker | manager
  std::string manager_addr;
  std::string advertise_addr;
  std::string listen_addr;
  std::string default_addr_pool;
  uint64_t heartbeat_ms = 5000;
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> start(DaemonOptions options);
  ~Daemon();  // stops serving; tasks keep running (a restart adopts them)

  void wait();      // until shutdown()
  void shutdown();  // from a signal

  grpc::Status info(api::InfoResponse& out);
  grpc::Status init(const api::InitRequest& request, api::InitResponse& out);
  grpc::Status join(const api::JoinRequest& request, api::JoinResponse& out);
  grpc::Status leave(const api::LeaveRequest& request);
  // `shoal run`: starts a standalone process through the manager, then streams its output
  // until it ends (or the client goes, which stops it).
  grpc::Status run(grpc::ServerContext& context, const api::RunRequest& request,
                   grpc::ServerWriter<api::RunOutput>& writer);

  struct Key {
   private:
    friend class Daemon;
    Key() = default;
  };
  Daemon(Key, DaemonOptions options);

 private:
  Status serve_local();
  Status resume();
  Status start_manager(const NodeState& state, const pki::NodeFiles& files);
  Status start_agent(const NodeState& state, const pki::NodeFiles& files);
  void stop_node();
  Status save_state(const NodeState& state);
  std::string hostname() const;

  DaemonOptions options_;
  std::mutex mutex_;  // lifecycle calls, one at a time
  std::optional<NodeState> state_;
  std::unique_ptr<ManagerRuntime> manager_;
  std::unique_ptr<ClusterSecrets> secrets_;
  std::unique_ptr<DispatcherService> dispatcher_;
  std::unique_ptr<grpc::Service> manager_control_;
  std::unique_ptr<grpc::Service> ca_;
  std::unique_ptr<grpc::Server> manager_server_;
  std::unique_ptr<GossipNode> gossip_;
  std::unique_ptr<ServicePlane> plane_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<AgentSession> session_;

  std::mutex context_mutex_;
  std::shared_ptr<const ManagerContext> context_;  // what Control calls see

  std::unique_ptr<grpc::Service> local_;
  std::unique_ptr<grpc::Service> local_control_;
  std::unique_ptr<grpc::Server> local_server_;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

}  // namespace shoal::daemon
