#include "control/daemon/dispatcher_service.h"

#include <spdlog/spdlog.h>

#include <set>

#include "control/api/convert.h"
#include "control/daemon/assignments.h"
#include "control/daemon/auth.h"
#include "control/daemon/grpc_status.h"
#include "control/daemon/standalone_run.h"

namespace shoal::daemon {

using namespace std::chrono_literals;
using manager::TaskState;

namespace {

constexpr auto kSessionPoll = 1s;  // a cancelled client is noticed at least this often
constexpr auto kLogWait = 5s;
constexpr size_t kMaxLogLines = 100000;

grpc::Status unknown_session() {
  return {grpc::StatusCode::NOT_FOUND, "session is not current: open a new one"};
}

}  // namespace

DispatcherService::DispatcherService(ManagerRuntime& manager, uint16_t gossip_port,
                                     GossipKeySource gossip_keys, std::string leader_id,
                                     uint16_t manager_port)
    : manager_(manager),
      gossip_port_(gossip_port),
      gossip_keys_(std::move(gossip_keys)),
      leader_id_(std::move(leader_id)),
      manager_port_(manager_port) {
  watch_id_ = manager_.store().watch([this](const std::vector<manager::Event>&) {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    cv_.notify_all();
  });
}

DispatcherService::~DispatcherService() {
  stop();
  manager_.store().unwatch(watch_id_);
}

void DispatcherService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
}

Status DispatcherService::register_session(const std::string& node_id,
                                           const api::SessionRequest& request,
                                           std::string& session_id) {
  auto addr = Ipv4::parse(request.addr());
  SHOAL_TRY(manager_.store().update([&](manager::WriteTx& tx) -> Status {
    auto node = tx.get_node(node_id);
    if (!node) {
      return invalid_argument("node " + node_id, "is not a member of this swarm (removed?)");
    }
    node->status = manager::NodeStatus::kReady;
    if (!request.hostname().empty())
      node->hostname = request.hostname();
    if (addr.ok())
      node->addr = *addr;
    if (!request.lb_backend().empty())
      node->lb_backend = request.lb_backend();
    return tx.update(*node);
  }));
  session_id = manager_.ids().next();
  {
    std::lock_guard lock(mutex_);
    sessions_[node_id] = session_id;  // an older session of this node ends at its next wake
  }
  manager_.node_seen(node_id);
  return {};
}

bool DispatcherService::session_valid(const std::string& node_id, const std::string& session_id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(node_id);
  return it != sessions_.end() && it->second == session_id && !stopping_;
}

api::Assignments DispatcherService::assignments_for(const std::string& node_id) {
  api::Assignments out;
  manager_.store().view([&](const manager::ReadTx& tx) {
    out = node_assignments(tx, node_id, gossip_port_);
    for (auto& addr : manager_addresses(tx, leader_id_, manager_port_))
      out.add_managers(std::move(addr));
  });
  out.set_heartbeat_period_ms(static_cast<uint64_t>(manager_.options().heartbeat_period.count()));
  if (gossip_keys_) {
    for (auto& key : gossip_keys_())
      out.add_gossip_keys(std::move(key));
  }
  std::lock_guard lock(mutex_);
  for (const auto& [id, request] : log_requests_) {
    auto mine = request.tasks_by_node.find(node_id);
    if (mine == request.tasks_by_node.end() || request.answered.contains(node_id))
      continue;
    auto& subscription = *out.add_log_subscriptions();
    subscription.set_id(id);
    for (const auto& task : mine->second)
      subscription.add_task_ids(task);
    subscription.set_tail(request.tail);
  }
  return out;
}

grpc::Status DispatcherService::Session(grpc::ServerContext* context,
                                        const api::SessionRequest* request,
                                        grpc::ServerWriter<api::Assignments>* writer) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  std::string session_id;
  if (auto registered = register_session(who.node_id, *request, session_id); !registered.ok()) {
    return {grpc::StatusCode::PERMISSION_DENIED, registered.error().message()};
  }
  spdlog::info("session {} opened by node {} ({})", session_id, who.node_id, request->hostname());
  std::string last_sent;
  uint64_t seen_generation = 0;
  while (!context->IsCancelled() && session_valid(who.node_id, session_id)) {
    {
      std::lock_guard lock(mutex_);
      seen_generation = generation_;
    }
    auto assignments = assignments_for(who.node_id);
    assignments.set_session_id(session_id);
    auto bytes = assignments.SerializeAsString();
    if (bytes != last_sent) {
      if (!writer->Write(assignments))
        break;
      last_sent = std::move(bytes);
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, kSessionPoll, [&] { return stopping_ || generation_ != seen_generation; });
  }
  spdlog::info("session {} of node {} ended", session_id, who.node_id);
  return grpc::Status::OK;
}

grpc::Status DispatcherService::Heartbeat(grpc::ServerContext* context,
                                          const api::HeartbeatRequest* request,
                                          api::HeartbeatResponse* response) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  if (!session_valid(who.node_id, request->session_id()))
    return unknown_session();
  // A node marked down (it was silent too long) registers again: that makes it ready, and it
  // reports its tasks afresh.
  bool down = false;
  manager_.store().view([&](const manager::ReadTx& tx) {
    auto node = tx.get_node(who.node_id);
    down = node && node->status == manager::NodeStatus::kDown;
  });
  if (down)
    return unknown_session();
  manager_.node_seen(who.node_id);
  response->set_period_ms(static_cast<uint64_t>(manager_.options().heartbeat_period.count()));
  return grpc::Status::OK;
}

grpc::Status DispatcherService::UpdateTaskStatus(grpc::ServerContext* context,
                                                 const api::UpdateTaskStatusRequest* request,
                                                 api::Empty*) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  if (!session_valid(who.node_id, request->session_id()))
    return unknown_session();
  auto written = manager_.store().update([&](manager::WriteTx& tx) -> Status {
    for (const auto& update : request->updates()) {
      auto task = tx.get_task(update.task_id());
      auto state = manager::parse_task_state(update.state());
      // Reports about other nodes' tasks, or late ones, are dropped: states never go back.
      if (!task || task->node_id != who.node_id || !state.ok() || *state <= task->observed) {
        continue;
      }
      SHOAL_TRY(manager::advance(*task, *state, update.message()));
      SHOAL_TRY(tx.update(*task));
      SHOAL_TRY(remove_ended_run(tx, *task));
    }
    return {};
  });
  if (!written.ok())
    return to_grpc(written.error(), grpc::StatusCode::ABORTED);
  return grpc::Status::OK;
}

grpc::Status DispatcherService::StartRun(grpc::ServerContext* context,
                                         const api::StartRunRequest* request,
                                         api::StartRunResponse* response) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  return start_standalone_run(manager_, who.node_id, *request, *response);
}

grpc::Status DispatcherService::EndRun(grpc::ServerContext* context, const api::IdRequest* request,
                                       api::Empty*) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  return end_standalone_run(manager_, who.node_id, request->id());
}

grpc::Status DispatcherService::PublishLogs(grpc::ServerContext* context,
                                            const api::PublishLogsRequest* request, api::Empty*) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  {
    std::lock_guard lock(mutex_);
    auto it = log_requests_.find(request->subscription_id());
    if (it == log_requests_.end())
      return grpc::Status::OK;  // the caller gave up already
    auto& pending = it->second;
    for (const auto& line : request->lines()) {
      if (pending.lines.size() >= kMaxLogLines)
        break;
      pending.lines.push_back(line);
      pending.lines.back().set_node_id(who.node_id);
    }
    pending.answered.insert(who.node_id);
  }
  cv_.notify_all();
  return grpc::Status::OK;
}

grpc::Status DispatcherService::collect_logs(const std::vector<manager::Task>& tasks, uint32_t tail,
                                             api::LogsResponse& response) {
  LogRequest request;
  request.tail = tail;
  for (const auto& task : tasks) {
    if (!task.node_id.empty() && task.observed >= TaskState::kStarting) {
      request.tasks_by_node[task.node_id].push_back(task.id);
    }
  }
  auto id = manager_.ids().next();
  auto wanted = request.tasks_by_node.size();
  std::unique_lock lock(mutex_);
  log_requests_[id] = std::move(request);
  ++generation_;
  cv_.notify_all();
  cv_.wait_for(lock, kLogWait,
               [&] { return stopping_ || log_requests_[id].answered.size() == wanted; });
  for (auto& line : log_requests_[id].lines)
    *response.add_lines() = std::move(line);
  log_requests_.erase(id);
  return grpc::Status::OK;
}

}  // namespace shoal::daemon
