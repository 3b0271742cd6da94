// What a manager node runs besides its agent: its seat (manager_seat.h), the cluster secrets, and
// the manager port's server with the routers (leader_routing.h) that serve the API here while
// this manager leads and send it to the leader otherwise.
//
// The ManagerContext the routers read is rebuilt whenever the seat reports a change: leading, it
// holds the runtime, a dispatcher of its own and the secrets; following, the leader's id and
// address. A leader of several managers keeps the cluster secrets in etcd (kSecretsKey): the
// first writes its own there, and a manager that comes to lead adopts them, so it signs with
// the same CA and accepts the same join tokens.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "control/manager/backup/backup.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/leadership/leader_routing.h"
#include "control/manager/leadership/manager_seat.h"
#include "control/pki/node_files.h"

namespace shoal::manager {

inline constexpr const char* kSecretsKey = "/shoal/secrets";

struct ManagerNodeConfig {
  std::string state_dir;
  std::string node_id;
  std::string advertise_ip;
  std::string listen_addr;   // IP:PORT the manager port binds
  std::string manager_addr;  // IP:PORT the others reach it at
  ManagerOptions runtime;
  pki::NodeFiles files;
  uint16_t gossip_port = 7946;
  // A manager joining several: the etcd cluster its member starts with (first start only).
  std::string etcd_initial_cluster;
  std::string etcd_binary = "etcd";
  // `swarm init --force-new-cluster`: this manager's store alone, the other managers demoted.
  bool force_new_cluster = false;
  // How often the leader adds a gossip key (gossip_keys.h).
  std::chrono::seconds gossip_key_rotation = gossip::kGossipKeyRotation;
};

// The manager port and the manager around the store (its hooks for the API servers).
class ManagerNode final : public ControlHooks {
 public:
  // `secrets`: a new swarm's (init); else loaded from the state dir when there (null for a
  // manager that joined and never led).
  static Result<std::unique_ptr<ManagerNode>> start(ManagerNodeConfig config,
                                                    std::unique_ptr<ClusterSecrets> secrets = {});
  ~ManagerNode() override;
  ManagerNode(const ManagerNode&) = delete;
  ManagerNode& operator=(const ManagerNode&) = delete;

  std::shared_ptr<const ManagerContext> context() const;
  ManagerSource source() {
    return [this] { return context(); };
  }
  // The single manager's runtime right after init (null once it no longer leads).
  std::shared_ptr<ManagerRuntime> runtime() const { return seat_->runtime(); }
  std::shared_ptr<const ClusterSecrets> secrets() const;
  // This node's certificate was renewed: the channels to the leader connect anew with it.
  void certificate_renewed() { channels_->reset(); }
  // The etcd member trusts these roots from now on (a root rotation's end).
  Status trust_roots(const std::string& ca_pem) { return seat_->trust_roots(ca_pem); }

 private:
  explicit ManagerNode(ManagerNodeConfig config) : config_(std::move(config)) {}
  Status open_seat();
  Status serve();
  void refresh();  // the seat changed
  Status adopt_secrets();
  // ControlHooks, for the API servers.
  api::JoinTokens join_tokens() override;
  Result<api::JoinTokens> rotate_join_token(const std::string& role) override;
  Result<api::SwarmSettings> update_swarm(const api::UpdateSwarmRequest& request) override;
  std::string leader_node_id() override;
  std::map<std::string, std::string> manager_statuses() override;
  Result<std::string> add_manager(const std::string& node_id, const std::string& addr) override;
  Status remove_manager(const std::string& node_id, const std::string& addr, bool force) override;
  Status check_manager_removal(const std::string& node_id, const std::string& addr) override;
  bool store_has_quorum() override;
  grpc::Status collect_logs(const std::vector<manager::Task>& tasks, uint32_t tail,
                            api::LogsResponse& response) override;
  Result<BackupSecrets> backup_secrets() override;

  // The secrets' part of every node's assignments (DispatcherService::SecretsSource): gossip
  // keys and roots. The dispatcher asks at least every second for each node, which is also the
  // schedule of the gossip key rotation and of the root rotation's end.
  void fill_secrets(api::Assignments& out);
  // The leader's gossip keys in the order nodes install them, rotated first when due.
  std::vector<std::string> gossip_keys();
  // The leader's revocation list for every manager's etcd member (kRevocationListKey), signed
  // anew when the serials to revoke change (cert_status.h), at most once a second, and daily.
  void publish_revocations(const ClusterSecrets& secrets);
  // Ends a root rotation once every node's certificate is the new root's.
  void finish_root_rotation_when_done(ClusterSecrets& secrets);
  // How many nodes the root that signs now has signed, of how many.
  std::pair<uint32_t, uint32_t> nodes_moved(const std::string& signer) const;
  // A new gossip key now (`when_due`: only if the newest is older than the rotation period).
  Status rotate_gossip_key(bool when_due);
  // Saves the secrets in etcd when the store is replicated (another leader adopts them).
  Status share_secrets(const ClusterSecrets& secrets);
  Status demote_other_managers(ManagerRuntime& runtime);
  // A new leader revokes, at etcd, the certificates of managers the store no longer has (a
  // leader that demoted itself could not revoke its own).
  Status keep_only_current_managers(ManagerRuntime& runtime);

  ManagerNodeConfig config_;
  std::unique_ptr<ManagerSeat> seat_;
  std::shared_ptr<LeaderChannels> channels_;

  mutable std::mutex mutex_;  // context_ and secrets_
  std::shared_ptr<const ManagerContext> context_;
  std::shared_ptr<ClusterSecrets> secrets_;
  std::mutex revocations_mutex_;  // the three below
  std::chrono::steady_clock::time_point revocations_checked_{}, revocations_published_{};
  std::optional<std::vector<std::string>> published_revocations_;
  std::mutex refresh_mutex_;         // one refresh at a time
  bool demote_others_ = false;       // under refresh_mutex_: after a forced new cluster
  std::mutex membership_mutex_;      // one manager join at a time
  std::mutex secrets_change_mutex_;  // one change of the secrets at a time (gossip key, root)

  std::unique_ptr<grpc::Service> control_;
  std::unique_ptr<grpc::Service> dispatcher_;
  std::unique_ptr<grpc::Service> ca_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace shoal::manager
