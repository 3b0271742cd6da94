#include "control/manager/leadership/leader_routing.h"

#include <thread>

#include "control/api/tls.h"
#include "control/manager/access/auth.h"
#include "control/manager/backup/backup.h"

namespace shoal::manager {

using namespace std::chrono_literals;

namespace {

// Control calls are short (logs wait at most 5 s); a leader cut off mid-call fails the call
// before the caller gives up, and the retry reaches the next leader.
constexpr auto kForwardDeadline = 10s;
// A leader that does not answer: how long a call waits for the next one (an election takes the
// lease's 3 s and a poll) before it fails.
constexpr auto kAwaitLeader = 8s;
// A connection to the leader that is not up by then counts as a leader that does not answer (a
// host cut off answers no SYN, and a call would wait for its whole deadline).
constexpr auto kConnectWait = 2s;

}  // namespace

std::shared_ptr<grpc::Channel> LeaderChannels::get(const std::string& addr) {
  std::lock_guard lock(mutex_);
  auto& channel = channels_[addr];
  if (!channel) {
    channel = api::node_channel(addr, files_, kMaxBackupBytes + 4096);  // a backup is the largest
  }
  return channel;
}

void LeaderChannels::reset() {
  std::lock_guard lock(mutex_);
  channels_.clear();
}

bool LeaderChannels::reachable(const std::string& addr) {
  auto channel = get(addr);
  const auto until = std::chrono::system_clock::now() + kConnectWait;
  for (auto state = channel->GetState(true); state != GRPC_CHANNEL_READY;
       state = channel->GetState(true)) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN ||
        !channel->WaitForStateChange(state, until)) {
      return false;
    }
  }
  return true;
}

grpc::Status no_leader(grpc::ServerContext& context) {
  context.AddTrailingMetadata(api::kRefusalMetadata, "no-leader");
  return {grpc::StatusCode::UNAVAILABLE, api::kNoLeader};
}

grpc::Status not_leading(grpc::ServerContext& context, const ManagerContext* held) {
  if (held == nullptr || held->leader_addr.empty()) {
    return no_leader(context);
  }
  context.AddTrailingMetadata(api::kRefusalMetadata, "not-leader");
  context.AddTrailingMetadata(api::kLeaderMetadata, held->leader_addr);
  return {grpc::StatusCode::UNAVAILABLE, "this manager does not lead; the leader is " +
                                             held->leader_id + " at " + held->leader_addr};
}

std::shared_ptr<const ManagerContext> ControlRouter::forward_target(grpc::ServerContext& context,
                                                                    grpc::Status& refusal) {
  auto held = source_();
  if (!held || held->manager != nullptr || !held->channels) {
    return nullptr;  // served here: the leader, or no manager at all (refused there)
  }
  if (require_certificate_) {
    if (auto status = require_manager(context); !status.ok()) {
      refusal = status;
      return nullptr;
    }
  }
  if (held->leader_addr.empty() || context.client_metadata().count(kForwardedMetadata) > 0) {
    refusal = no_leader(context);
    return nullptr;
  }
  return held;
}

std::shared_ptr<const ManagerContext> ControlRouter::await_new_leader(grpc::ServerContext& context,
                                                                      const ManagerContext& failed,
                                                                      grpc::Status& refusal) {
  const auto until = std::min(context.deadline(), std::chrono::system_clock::now() + kAwaitLeader);
  while (std::chrono::system_clock::now() < until) {
    // Gone with the majority, or alone: this manager's member knows which.
    if (!failed.hooks->store_has_quorum()) {
      refusal = no_leader(context);
      return nullptr;
    }
    auto now = source_();
    if (now && (now->manager != nullptr ||
                (!now->leader_addr.empty() && now->leader_addr != failed.leader_addr))) {
      return now;  // elected meanwhile: here, or elsewhere
    }
    std::this_thread::sleep_for(200ms);
  }
  refusal = {grpc::StatusCode::UNAVAILABLE,
             "the leader at " + failed.leader_addr +
                 " does not answer and no other manager leads yet: retry in a few seconds"};
  return nullptr;
}

template <typename Request, typename Response>
grpc::Status ControlRouter::route(grpc::ServerContext* context, const Request* request,
                                  Response* response, LocalCall<Request, Response> local,
                                  RemoteCall<Request, Response> remote) {
  grpc::Status refusal;
  auto held = forward_target(*context, refusal);
  for (int attempt = 0; refusal.ok(); ++attempt) {
    if (!held || held->manager != nullptr) {
      return (local_.*local)(context, request, response);
    }
    grpc::ClientContext client;
    client.set_deadline(
        std::min(context->deadline(), std::chrono::system_clock::now() + kForwardDeadline));
    client.AddMetadata(kForwardedMetadata, forwarded_for(*context));
    grpc::Status status{grpc::StatusCode::UNAVAILABLE, "not connected"};
    bool refused = false;
    if (held->channels->reachable(held->leader_addr)) {
      auto stub = api::Control::NewStub(held->channels->get(held->leader_addr));
      status = (stub.get()->*remote)(&client, *request, response);
      refused = api::refused_by_a_manager(client);
    }
    const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE && !refused;
    if (!unreachable) {
      return status;
    }
    if (attempt > 0) {
      return {grpc::StatusCode::UNAVAILABLE, "the leader at " + held->leader_addr +
                                                 " does not answer (" + status.error_message() +
                                                 "): retry in a few seconds"};
    }
    held = await_new_leader(*context, *held, refusal);
  }
  return refusal;
}

#define SHOAL_ROUTE(Method, Request, Response)                                             \
  grpc::Status ControlRouter::Method(grpc::ServerContext* context, const Request* request, \
                                     Response* response) {                                 \
    return route<Request, Response>(context, request, response, &ControlService::Method,   \
                                    &api::Control::Stub::Method);                          \
  }

SHOAL_ROUTE(ListNodes, api::Empty, api::ListNodesResponse)
SHOAL_ROUTE(GetNode, api::IdRequest, api::Node)
SHOAL_ROUTE(UpdateNode, api::UpdateNodeRequest, api::Node)
SHOAL_ROUTE(RemoveNode, api::RemoveNodeRequest, api::Empty)
SHOAL_ROUTE(CreateNetwork, api::CreateNetworkRequest, api::Network)
SHOAL_ROUTE(ListNetworks, api::Empty, api::ListNetworksResponse)
SHOAL_ROUTE(GetNetwork, api::IdRequest, api::Network)
SHOAL_ROUTE(RemoveNetwork, api::IdRequest, api::Empty)
SHOAL_ROUTE(CreateService, api::ServiceSpec, api::Service)
SHOAL_ROUTE(ListServices, api::Empty, api::ListServicesResponse)
SHOAL_ROUTE(GetService, api::IdRequest, api::Service)
SHOAL_ROUTE(UpdateService, api::UpdateServiceRequest, api::Service)
SHOAL_ROUTE(RollbackService, api::IdRequest, api::Service)
SHOAL_ROUTE(RemoveService, api::IdRequest, api::Empty)
SHOAL_ROUTE(ListTasks, api::ListTasksRequest, api::ListTasksResponse)
SHOAL_ROUTE(ServiceLogs, api::LogsRequest, api::LogsResponse)
SHOAL_ROUTE(CreateConfig, api::CreateConfigRequest, api::Config)
SHOAL_ROUTE(ListConfigs, api::Empty, api::ListConfigsResponse)
SHOAL_ROUTE(GetConfig, api::IdRequest, api::Config)
SHOAL_ROUTE(RemoveConfig, api::IdRequest, api::Empty)
SHOAL_ROUTE(GetJoinTokens, api::Empty, api::JoinTokens)
SHOAL_ROUTE(RotateJoinToken, api::RotateJoinTokenRequest, api::JoinTokens)
SHOAL_ROUTE(UpdateSwarm, api::UpdateSwarmRequest, api::SwarmSettings)
SHOAL_ROUTE(Backup, api::Empty, api::BackupData)

#undef SHOAL_ROUTE

template <typename Call>
grpc::Status DispatcherRouter::route(grpc::ServerContext& context, Call call) {
  auto held = source_();
  if (!held || held->dispatcher == nullptr) {
    return not_leading(context, held.get());
  }
  return call(*held->dispatcher);  // `held` keeps the leader's dispatcher alive meanwhile
}

grpc::Status DispatcherRouter::Session(grpc::ServerContext* context,
                                       const api::SessionRequest* request,
                                       grpc::ServerWriter<api::Assignments>* writer) {
  return route(*context, [&](DispatcherService& d) { return d.Session(context, request, writer); });
}

grpc::Status DispatcherRouter::Heartbeat(grpc::ServerContext* context,
                                         const api::HeartbeatRequest* request,
                                         api::HeartbeatResponse* response) {
  return route(*context,
               [&](DispatcherService& d) { return d.Heartbeat(context, request, response); });
}

grpc::Status DispatcherRouter::StartRun(grpc::ServerContext* context,
                                        const api::StartRunRequest* request,
                                        api::StartRunResponse* response) {
  return route(*context,
               [&](DispatcherService& d) { return d.StartRun(context, request, response); });
}

grpc::Status DispatcherRouter::EndRun(grpc::ServerContext* context, const api::IdRequest* request,
                                      api::Empty* response) {
  return route(*context,
               [&](DispatcherService& d) { return d.EndRun(context, request, response); });
}

grpc::Status DispatcherRouter::UpdateTaskStatus(grpc::ServerContext* context,
                                                const api::UpdateTaskStatusRequest* request,
                                                api::Empty* response) {
  return route(*context, [&](DispatcherService& d) {
    return d.UpdateTaskStatus(context, request, response);
  });
}

grpc::Status DispatcherRouter::PublishLogs(grpc::ServerContext* context,
                                           const api::PublishLogsRequest* request,
                                           api::Empty* response) {
  return route(*context,
               [&](DispatcherService& d) { return d.PublishLogs(context, request, response); });
}

}  // namespace shoal::manager
