#include "control/manager/dispatcher/dispatcher_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/hostname.h"
#include "common/printable.h"
#include "control/api/convert.h"
#include "control/api/grpc_status.h"
#include "control/manager/access/auth.h"
#include "control/manager/access/cert_status.h"
#include "control/manager/control_api/standalone_run.h"
#include "control/manager/dispatcher/assignments.h"

namespace shoal::manager {

using namespace std::chrono_literals;
using manager::TaskState;

namespace {

constexpr auto kSessionPoll = 1s;  // a cancelled client is noticed at least this often
constexpr auto kLogWait = 5s;

grpc::Status not_a_member(const std::string& node_id) {
  return {grpc::StatusCode::PERMISSION_DENIED,
          "node " + node_id + " is not a member of this swarm (removed?)"};
}

grpc::Status unknown_session() {
  return {grpc::StatusCode::NOT_FOUND, "session is not current: open a new one"};
}

// Cuts text to at most `bytes`, at a UTF-8 character boundary.
void cut(std::string& text, size_t bytes) {
  if (text.size() <= bytes)
    return;
  size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  text.resize(end);
}

// What a node may change about itself when it opens a session: its name (validated; a
// duplicate is allowed, as in Docker, and makes that name ambiguous in references) and its
// load balancer. Its address is the one checked at join: a node cannot point the swarm's
// overlay peers, gossip and certificate at another machine.
grpc::Status apply_session(manager::Node& node, const api::SessionRequest& request) {
  if (!request.hostname().empty() && request.hostname() != node.hostname) {
    if (auto valid = validate_hostname(request.hostname()); !valid.ok())
      return api::to_grpc(valid.error());
    node.hostname = request.hostname();
  }
  if (!request.addr().empty() && request.addr() != node.addr.str()) {
    return api::failed_precondition(
        "node " + node.id + " joined with address " + node.addr.str() + " and asks for " +
        printable(request.addr(), {.max_bytes = 64}) +
        ": a node's address is fixed at join (remove the node and join it again to change it)");
  }
  if (!request.lb_backend().empty()) {
    if (request.lb_backend() != "ebpf" && request.lb_backend() != "ipvs") {
      return api::invalid("load balancer " + printable(request.lb_backend(), {.max_bytes = 64}) +
                          " is neither ebpf nor ipvs");
    }
    node.lb_backend = request.lb_backend();
  }
  node.status = manager::NodeStatus::kReady;
  return grpc::Status::OK;
}

}  // namespace

DispatcherService::DispatcherService(ManagerRuntime& manager, uint16_t gossip_port,
                                     SecretsSource secrets, std::string leader_id,
                                     uint16_t manager_port)
    : manager_(manager),
      gossip_port_(gossip_port),
      secrets_(std::move(secrets)),
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

grpc::Status DispatcherService::register_session(const std::string& node_id,
                                                 const api::SessionRequest& request,
                                                 std::string& session_id) {
  grpc::Status refusal = grpc::Status::OK;
  auto written = manager_.store().update([&](manager::WriteTx& tx) -> Status {
    auto node = tx.get_node(node_id);
    if (!node) {
      refusal = not_a_member(node_id);
      return {};
    }
    refusal = apply_session(*node, request);
    return refusal.ok() ? tx.update(*node) : Status{};
  });
  if (!refusal.ok())
    return refusal;
  if (!written.ok())
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  session_id = manager_.ids().next();
  {
    std::lock_guard lock(mutex_);
    sessions_[node_id] = session_id;  // an older session of this node ends at its next wake
  }
  manager_.node_seen(node_id);
  return grpc::Status::OK;
}

grpc::Status DispatcherService::require_member(const grpc::ServerContext& context,
                                               pki::NodeIdentity& who) {
  if (auto status = require_node(context, who); !status.ok())
    return status;
  std::optional<manager::Node> node;
  manager_.store().view([&](const manager::ReadTx& tx) { node = tx.get_node(who.node_id); });
  if (!node)
    return not_a_member(who.node_id);
  return require_current_certificate(context, *node);
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
  if (secrets_)
    secrets_(out);
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
  if (auto status = require_member(*context, who); !status.ok())
    return status;
  std::string session_id;
  if (auto registered = register_session(who.node_id, *request, session_id); !registered.ok()) {
    if (auto line = session_refusals_.admit("session of node " + who.node_id + " refused: " +
                                                printable_for_log(registered.error_message()),
                                            std::chrono::steady_clock::now())) {
      spdlog::warn("{}", *line);
    }
    return registered;
  }
  spdlog::info("session {} opened by node {} ({})", session_id, who.node_id,
               printable_for_log(request->hostname()));
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
  if (auto status = require_member(*context, who); !status.ok())
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
  if (auto status = require_member(*context, who); !status.ok())
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
      // The message is shown in `service ps`; a report cannot make it a burden on the store.
      std::string message = update.message();
      cut(message, kMaxTaskMessageBytes);
      SHOAL_TRY(manager::advance(*task, *state, message));
      SHOAL_TRY(tx.update(*task));
      SHOAL_TRY(remove_ended_run(tx, *task));
    }
    return {};
  });
  if (!written.ok())
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  return grpc::Status::OK;
}

grpc::Status DispatcherService::StartRun(grpc::ServerContext* context,
                                         const api::StartRunRequest* request,
                                         api::StartRunResponse* response) {
  pki::NodeIdentity who;
  if (auto status = require_member(*context, who); !status.ok())
    return status;
  return start_standalone_run(manager_, who.node_id, *request, *response);
}

grpc::Status DispatcherService::EndRun(grpc::ServerContext* context, const api::IdRequest* request,
                                       api::Empty*) {
  pki::NodeIdentity who;
  if (auto status = require_member(*context, who); !status.ok())
    return status;
  return end_standalone_run(manager_, who.node_id, request->id());
}

grpc::Status DispatcherService::PublishLogs(grpc::ServerContext* context,
                                            const api::PublishLogsRequest* request, api::Empty*) {
  pki::NodeIdentity who;
  if (auto status = require_member(*context, who); !status.ok())
    return status;
  {
    std::lock_guard lock(mutex_);
    auto it = log_requests_.find(request->subscription_id());
    if (it == log_requests_.end()) {
      return {grpc::StatusCode::NOT_FOUND,
              "log subscription " + printable(request->subscription_id(), {.max_bytes = 64}) +
                  " does not exist (it ended, or never began)"};
    }
    auto& pending = it->second;
    if (auto accepted = accept_logs(pending, who.node_id, *request); !accepted.ok())
      return accepted;
  }
  cv_.notify_all();
  return grpc::Status::OK;
}

grpc::Status DispatcherService::accept_logs(LogRequest& pending, const std::string& node_id,
                                            const api::PublishLogsRequest& request) {
  auto asked = pending.tasks_by_node.find(node_id);
  if (asked == pending.tasks_by_node.end()) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "log subscription " + request.subscription_id() + " asks nothing of node " + node_id};
  }
  // Every line must be of a task this node was asked about, or none is taken: a node speaks
  // for its own tasks only.
  for (const auto& line : request.lines()) {
    if (std::find(asked->second.begin(), asked->second.end(), line.task_id()) ==
        asked->second.end()) {
      return {grpc::StatusCode::PERMISSION_DENIED,
              "log line of task " + printable(line.task_id(), {.max_bytes = 64}) +
                  ", which log subscription " + request.subscription_id() + " did not ask node " +
                  node_id + " about"};
    }
    if (line.stream() != "stdout" && line.stream() != "stderr") {
      return api::invalid("log line stream " + printable(line.stream(), {.max_bytes = 64}) +
                          " is neither stdout nor stderr");
    }
  }
  if (!pending.answered.insert(node_id).second)
    return grpc::Status::OK;  // answered already (the subscription was sent twice): kept once
  size_t node_bytes = 0;
  for (const auto& line : request.lines()) {
    if (pending.lines.size() >= kMaxLogLines || node_bytes >= kMaxLogBytesPerNode ||
        pending.bytes >= kMaxLogBytes) {
      break;  // beyond the caps the answer is cut: the caller gets what fits
    }
    auto& kept = pending.lines.emplace_back(line);
    cut(*kept.mutable_line(), kMaxLogLineBytes);
    kept.set_node_id(node_id);
    node_bytes += kept.line().size();
    pending.bytes += kept.line().size();
  }
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

}  // namespace shoal::manager
