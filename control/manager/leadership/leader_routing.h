// The manager port's services on a manager that may not lead. With several managers only the
// leader runs a runtime; the routers registered with the gRPC server find, per call, whether
// this manager leads (its ManagerContext has a runtime) and then serve the call here, or else:
//   Control: forward it to the leader with this node's certificate and pass its answer back;
//   Dispatcher: refuse it, naming the leader (trailing metadata kLeaderMetadata), so the agent
//     opens its session there;
//   no leader known: fail at once with kNoLeader (the managers have no quorum).
// A forwarded call carries kForwardedMetadata and is never forwarded again, so two managers
// with different views of the leadership cannot bounce a call between them. Its value names the
// original caller (a node id, or "local" for the CLI socket), whom the leader checks against the
// store as it checks the forwarding manager (auth.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "control/api/refusal.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/dispatcher/dispatcher_service.h"
#include "control/pki/node_files.h"
#include "swarm.grpc.pb.h"

namespace shoal::manager {

inline constexpr const char* kForwardedMetadata = "shoal-forwarded";

// Channels to the leader with this node's certificate, one per address.
class LeaderChannels {
 public:
  explicit LeaderChannels(pki::NodeFiles files) : files_(std::move(files)) {}
  std::shared_ptr<grpc::Channel> get(const std::string& addr);
  // Whether the channel to `addr` is connected, or connects within a short wait.
  bool reachable(const std::string& addr);
  // Drops every channel: the next call connects anew, presenting the node's renewed
  // certificate (calls in flight keep theirs).
  void reset();

 private:
  pki::NodeFiles files_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
};

// Why a call cannot be served here: UNAVAILABLE, naming the leader when one is known, with
// kRefusalMetadata set.
grpc::Status not_leading(grpc::ServerContext& context, const ManagerContext* held);
// UNAVAILABLE with kNoLeader, and kRefusalMetadata set.
grpc::Status no_leader(grpc::ServerContext& context);

class ControlRouter final : public api::Control::Service {
 public:
  ControlRouter(ManagerSource source, bool require_certificate)
      : source_(source),
        require_certificate_(require_certificate),
        local_(std::move(source), require_certificate) {}

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
  grpc::Status Backup(grpc::ServerContext*, const api::Empty*, api::BackupData*) override;

 private:
  template <typename Request, typename Response>
  using LocalCall = grpc::Status (ControlService::*)(grpc::ServerContext*, const Request*,
                                                     Response*);
  template <typename Request, typename Response>
  using RemoteCall = grpc::Status (api::Control::Stub::*)(grpc::ClientContext*, const Request&,
                                                          Response*);

  template <typename Request, typename Response>
  grpc::Status route(grpc::ServerContext* context, const Request* request, Response* response,
                     LocalCall<Request, Response> local, RemoteCall<Request, Response> remote);
  // After the leader did not answer: the context to try next (a new leader, or this manager
  // leading now), or why the call fails (no quorum; nobody leads in time).
  std::shared_ptr<const ManagerContext> await_new_leader(grpc::ServerContext& context,
                                                         const ManagerContext& failed,
                                                         grpc::Status& refusal);
  // The leader to forward to (null: served here), or why the call is refused.
  std::shared_ptr<const ManagerContext> forward_target(grpc::ServerContext& context,
                                                       grpc::Status& refusal);

  ManagerSource source_;
  bool require_certificate_;
  ControlService local_;
};

class DispatcherRouter final : public api::Dispatcher::Service {
 public:
  explicit DispatcherRouter(ManagerSource source) : source_(std::move(source)) {}

  grpc::Status Session(grpc::ServerContext*, const api::SessionRequest*,
                       grpc::ServerWriter<api::Assignments>*) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const api::HeartbeatRequest*,
                         api::HeartbeatResponse*) override;
  grpc::Status StartRun(grpc::ServerContext*, const api::StartRunRequest*,
                        api::StartRunResponse*) override;
  grpc::Status EndRun(grpc::ServerContext*, const api::IdRequest*, api::Empty*) override;
  grpc::Status UpdateTaskStatus(grpc::ServerContext*, const api::UpdateTaskStatusRequest*,
                                api::Empty*) override;
  grpc::Status PublishLogs(grpc::ServerContext*, const api::PublishLogsRequest*,
                           api::Empty*) override;

 private:
  template <typename Call>
  grpc::Status route(grpc::ServerContext& context, Call call);

  ManagerSource source_;
};

}  // namespace shoal::manager
