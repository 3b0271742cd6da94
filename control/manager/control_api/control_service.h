// The Control API on a manager: nodes, networks, services and tasks, read from and written to
// the store. Requests are checked before anything is written (names, CIDRs, overlaps, ports in
// use, references), so a bad request changes nothing and gets one line naming what is wrong.
//
// The same class serves the unix socket (no certificate: the socket is root's) and the manager
// port (a manager certificate is required); `require_certificate` says which.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "control/manager/backup/backup.h"
#include "control/manager/control_api/control_hooks.h"
#include "control/manager/loop/manager_runtime.h"
#include "swarm.grpc.pb.h"

namespace shoal::manager {

class DispatcherService;
class ClusterSecrets;
class LeaderChannels;

// The manager this node runs, while it runs one. On the leader `manager` is its runtime; a
// follower has none and names the leader, to which the API routers forward (leader_routing.h).
struct ManagerContext {
  ManagerRuntime* manager = nullptr;
  std::shared_ptr<ManagerRuntime> runtime;  // keeps `manager` alive while a call holds this
  DispatcherService* dispatcher = nullptr;  // the leader's
  std::shared_ptr<DispatcherService> dispatcher_owner;
  std::shared_ptr<const ClusterSecrets> secrets;  // the leader's
  std::shared_ptr<LeaderChannels> channels;       // to forward calls to the leader
  std::string leader_id;          // empty: no leader known (no quorum, or an election under way)
  std::string leader_addr;        // IP:PORT of the leader's API
  ControlHooks* hooks = nullptr;  // the manager around the store; outlives every context
};
using ManagerSource = std::function<std::shared_ptr<const ManagerContext>()>;

class ControlService final : public api::Control::Service {
 public:
  ControlService(ManagerSource source, bool require_certificate)
      : source_(std::move(source)), require_certificate_(require_certificate) {}

  grpc::Status ListNodes(grpc::ServerContext*, const api::Empty*, api::ListNodesResponse*) override;
  grpc::Status GetNode(grpc::ServerContext*, const api::IdRequest*, api::Node*) override;
  grpc::Status UpdateNode(grpc::ServerContext*, const api::UpdateNodeRequest*, api::Node*) override;
  grpc::Status RemoveNode(grpc::ServerContext*, const api::RemoveNodeRequest*,
                          api::Empty*) override;

  grpc::Status CreateNetwork(grpc::ServerContext*, const api::CreateNetworkRequest*,
                             api::Network*) override;
  grpc::Status ListNetworks(grpc::ServerContext*, const api::Empty*,
                            api::ListNetworksResponse*) override;
  grpc::Status GetNetwork(grpc::ServerContext*, const api::IdRequest*, api::Network*) override;
  grpc::Status RemoveNetwork(grpc::ServerContext*, const api::IdRequest*, api::Empty*) override;

  grpc::Status CreateService(grpc::ServerContext*, const api::ServiceSpec*, api::Service*) override;
  grpc::Status ListServices(grpc::ServerContext*, const api::Empty*,
                            api::ListServicesResponse*) override;
  grpc::Status GetService(grpc::ServerContext*, const api::IdRequest*, api::Service*) override;
  grpc::Status UpdateService(grpc::ServerContext*, const api::UpdateServiceRequest*,
                             api::Service*) override;
  grpc::Status RollbackService(grpc::ServerContext*, const api::IdRequest*, api::Service*) override;
  grpc::Status RemoveService(grpc::ServerContext*, const api::IdRequest*, api::Empty*) override;
  grpc::Status ListTasks(grpc::ServerContext*, const api::ListTasksRequest*,
                         api::ListTasksResponse*) override;
  grpc::Status ServiceLogs(grpc::ServerContext*, const api::LogsRequest*,
                           api::LogsResponse*) override;

  // In control_configs.cpp.
  grpc::Status CreateConfig(grpc::ServerContext*, const api::CreateConfigRequest*,
                            api::Config*) override;
  grpc::Status ListConfigs(grpc::ServerContext*, const api::Empty*,
                           api::ListConfigsResponse*) override;
  grpc::Status GetConfig(grpc::ServerContext*, const api::IdRequest*, api::Config*) override;
  grpc::Status RemoveConfig(grpc::ServerContext*, const api::IdRequest*, api::Empty*) override;

  grpc::Status GetJoinTokens(grpc::ServerContext*, const api::Empty*, api::JoinTokens*) override;
  grpc::Status RotateJoinToken(grpc::ServerContext*, const api::RotateJoinTokenRequest*,
                               api::JoinTokens*) override;
  grpc::Status UpdateSwarm(grpc::ServerContext*, const api::UpdateSwarmRequest*,
                           api::SwarmSettings*) override;

  // In control_backup.cpp.
  grpc::Status Backup(grpc::ServerContext*, const api::Empty*, api::BackupData*) override;

 private:
  // The manager for this call, or why the caller may not have it.
  grpc::Status hold(const grpc::ServerContext& context,
                    std::shared_ptr<const ManagerContext>& held) const;

  ManagerSource source_;
  bool require_certificate_;
};

}  // namespace shoal::manager
