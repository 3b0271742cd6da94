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
#include <thread>

#include "control/agent/executor/executor.h"
#include "control/agent/gossip/gossip_node.h"
#include "control/agent/plane/service_plane.h"
#include "control/agent/session/agent_session.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/dispatcher/dispatcher_service.h"
#include "control/manager/leadership/listen_addr.h"
#include "control/manager/leadership/manager_node.h"
#include "control/manager/loop/manager_runtime.h"
#include "control/shoald/cert_renewal.h"
#include "control/shoald/state_dir.h"
#include "dataplane/firewall/node_firewall.h"
#include "dataplane/lb/backend_choice.h"
#include "swarm.grpc.pb.h"

namespace shoal::shoald {

struct DaemonOptions {
  std::string state_dir = "/var/lib/shoal";
  std::string advertise_addr;  // IPv4; swarm init/join may name it instead
  std::string listen_addr;     // manager port IP:PORT; empty: the advertise address, port 2377
  std::string node_name;       // empty: the host name
  uint16_t gossip_port = 7946;
  std::string node_tag;  // scopes kernel names; empty: from the node id (tests use the host's)
  lb::BackendKind lb_backend = lb::BackendKind::kEbpf;  // shoald --lb-backend, probed
  std::string etcd_binary = "etcd";                     // several managers run one member each
  std::chrono::seconds gossip_key_rotation = gossip::kGossipKeyRotation;  // a leader's period
};

// What node.json holds.
struct NodeState {
  std::string node_id;
  std::string role;                   // worker | manager
  std::string manager_addr;           // a manager's own API address; a worker's first manager
  std::vector<std::string> managers;  // every manager's API address, as last heard
  std::string advertise_addr;
  std::string listen_addr;
  std::string default_addr_pool;
  uint64_t heartbeat_ms = 5000;
};

class Daemon : private CertificateHolder {
 public:
  static Result<std::unique_ptr<Daemon>> start(DaemonOptions options);
  ~Daemon() override;  // stops serving; tasks keep running (a restart adopts them)

  void wait();      // until shutdown()
  void shutdown();  // from a signal

  grpc::Status info(api::InfoResponse& out);
  grpc::Status init(const api::InitRequest& request, api::InitResponse& out);
  grpc::Status join(const api::JoinRequest& request, api::JoinResponse& out);
  grpc::Status leave(const api::LeaveRequest& request);
  // `swarm restore`: an inactive node becomes the single manager of the backup's swarm.
  grpc::Status restore(const api::RestoreRequest& request, api::RestoreResponse& out);
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
  Status start_manager(const NodeState& state, const pki::NodeFiles& files,
                       std::unique_ptr<manager::ClusterSecrets> secrets = {},
                       std::string etcd_initial_cluster = {}, bool force_new_cluster = false);
  grpc::Status force_new_cluster(api::InitResponse& out);
  // In daemon_role.cpp: the store gave this node another role. Renews the certificate with the
  // leader, then restarts the node in its new role (its tasks keep running and are adopted).
  void on_role(const std::string& role);
  bool change_role(const std::string& role);  // false: try again later
  // In daemon_renewal.cpp: renewal of this node's certificate on a timer (cert_renewal.h).
  Result<pki::Validity> current_certificate() override;
  Status renew_certificate() override;
  // After a renewal: the session and the channels to the leader connect anew.
  void reconnect_with_renewed_certificate();
  // Whether the node's certificate is not the signing root's (a root rotation moves it).
  bool must_renew_now() override;
  // The assignments name the roots to trust and the one that signs (on the session's thread):
  // the root file follows them, and a certificate of another root is renewed at once.
  void on_roots(const std::string& trusted_pem, const std::string& signing_pem);
  // The files as TLS users take them: watched in the state directory, so renewals reach them.
  pki::NodeFiles watched(const pki::NodeFiles& files) const;
  void restart_as(const NodeState& next, const pki::NodeFiles& files,
                  const std::string& etcd_initial_cluster);
  // A manager's API address: its advertise address with the port it listens on.
  static std::string api_addr(const std::string& advertise_addr, const std::string& listen_addr);
  // The agent heard a new list of managers: node.json keeps it for the next start.
  void save_managers(NodeState state, const std::vector<std::string>& managers);
  Status start_agent(const NodeState& state, const pki::NodeFiles& files);
  void stop_node();
  // A failed init, join or restore: the node stopped and inactive again, nothing of the swarm
  // left in the state directory.
  void undo_enrolment();
  Status save_state(const NodeState& state);
  Result<NodeState> restored_state(const api::RestoreRequest& request,
                                   const manager::Backup& backup) const;
  Status become_restored_manager(const NodeState& state, const manager::Backup& backup);
  std::string hostname() const;

  DaemonOptions options_;  // state_dir: the checked real path (state_dir.h)
  std::optional<StateDir> state_dir_;
  std::mutex mutex_;  // lifecycle calls, one at a time
  std::mutex state_file_mutex_;
  std::mutex role_mutex_;
  std::condition_variable role_cv_;
  std::thread role_thread_;     // a role change in progress
  bool role_changing_ = false;  // guarded by role_mutex_
  bool role_stopping_ = false;  // guarded by role_mutex_
  std::optional<NodeState> state_;
  std::unique_ptr<agent::GossipNode> gossip_;
  // Kept across stop_node (the table stays for the next run); removed at leave.
  std::unique_ptr<dataplane::firewall::NodeFirewall> firewall_;
  std::unique_ptr<agent::ServicePlane> plane_;
  std::unique_ptr<agent::Executor> executor_;
  std::unique_ptr<agent::AgentSession> session_;

  std::mutex manager_mutex_;  // manager_, for the CLI socket's calls
  std::unique_ptr<manager::ManagerNode> manager_;

  std::unique_ptr<grpc::Service> local_;
  std::unique_ptr<grpc::Service> local_control_;
  std::unique_ptr<grpc::Server> local_server_;
  std::unique_ptr<RenewalThread> renewal_;  // last member made, first stopped
  // The certificate files while one changes them: a renewal and new roots (not mutex_, which
  // a stop holds while it waits for the session thread that brings roots).
  std::mutex certificates_mutex_;
  std::string signing_root_pem_;  // guarded by certificates_mutex_
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

}  // namespace shoal::shoald
