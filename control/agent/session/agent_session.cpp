#include "control/agent/session/agent_session.h"

#include <utility>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "control/agent/session/overlay_sources.h"
#include "control/api/refusal.h"
#include "control/api/tls.h"

namespace shoal::agent {

using namespace std::chrono_literals;

namespace {

constexpr auto kRetry = 1s;
constexpr auto kReportEvery = 100ms;
constexpr auto kCallDeadline = 5s;

std::unique_ptr<grpc::ClientContext> call_context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  return context;
}

// What the manager says of the swarm, which gossiped rows are checked against.
agent::SwarmView swarm_view(const api::Assignments& assignments,
                            const std::vector<manager::Network>& networks) {
  agent::SwarmView view;
  for (const auto& node : assignments.nodes()) {
    if (auto addr = Ipv4::parse(node.addr()); addr.ok())
      view.nodes.emplace(node.id(), *addr);
  }
  for (const auto& network : networks) {
    if (network.subnet)
      view.subnets.emplace(network.id, *network.subnet);
    view.addresses[network.id];  // known, even with no address yet
  }
  for (const auto& entry : assignments.addresses()) {
    auto addr = Ipv4::parse(entry.addr());
    if (!addr.ok())
      continue;
    std::optional<Ipv4> vip;
    if (auto parsed = Ipv4::parse(entry.vip()); parsed.ok())
      vip = *parsed;
    view.addresses[entry.network_id()][*addr] =
        agent::AddressHolder{.node = entry.node_id(),
                             .task = entry.task_id(),
                             .service_id = entry.service_id(),
                             .service_name = entry.service_name(),
                             .vip = vip};
  }
  return view;
}

}  // namespace

AgentSession::AgentSession(SessionConfig config, Executor& executor, GossipNode& gossip)
    : config_(std::move(config)), executor_(executor), gossip_(gossip) {
  managers_ = config_.managers;
  thread_ = std::thread([this] { run(); });
}

AgentSession::~AgentSession() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (stream_context_ != nullptr)
      stream_context_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void AgentSession::sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, duration, [this] { return stopping_; });
}

void AgentSession::run() {
  std::string dialled;
  std::unique_ptr<api::Dispatcher::Stub> stub;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_)
        return;
    }
    bool fresh = false;
    {
      std::lock_guard lock(mutex_);
      fresh = std::exchange(new_connection_, false);
    }
    if (auto manager = current_manager(); !stub || manager != dialled || fresh) {
      dialled = manager;
      stub = api::Dispatcher::NewStub(
          api::node_channel(dialled, config_.files, api::kMaxAssignmentBytes));
    }
    bool again_now = run_session(*stub);  // redirected to the leader
    connected_ = false;
    {
      std::lock_guard lock(mutex_);
      again_now = again_now || new_connection_;
    }
    if (!again_now)
      sleep_for(kRetry);
  }
}

void AgentSession::reconnect() {
  std::lock_guard lock(mutex_);
  new_connection_ = true;
  if (stream_context_ != nullptr)
    stream_context_->TryCancel();
}

std::string AgentSession::current_manager() const {
  std::lock_guard lock(mutex_);
  return managers_.empty() ? std::string() : managers_[current_ % managers_.size()];
}

void AgentSession::choose_next(const grpc::ClientContext& context) {
  std::lock_guard lock(mutex_);
  if (managers_.empty())
    return;
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto leader = trailers.find(api::kLeaderMetadata); leader != trailers.end()) {
    std::string addr(leader->second.data(), leader->second.size());
    auto known = std::find(managers_.begin(), managers_.end(), addr);
    if (known == managers_.end())
      known = managers_.insert(managers_.end(), addr);
    current_ = static_cast<size_t>(known - managers_.begin());
    return;
  }
  current_ = (current_ + 1) % managers_.size();
}

void AgentSession::learn_managers(const api::Assignments& assignments) {
  if (assignments.managers().empty())
    return;  // a manager that does not send the list: keep ours
  std::vector<std::string> managers(assignments.managers().begin(), assignments.managers().end());
  {
    std::lock_guard lock(mutex_);
    auto current = managers_.empty() ? std::string() : managers_[current_ % managers_.size()];
    if (managers == managers_)
      return;
    managers_ = managers;
    auto still = std::find(managers_.begin(), managers_.end(), current);
    current_ = still == managers_.end() ? 0 : static_cast<size_t>(still - managers_.begin());
  }
  if (config_.on_managers)
    config_.on_managers(managers);
}

std::shared_ptr<grpc::Channel> AgentSession::manager_channel() const {
  return api::node_channel(current_manager(), config_.files);
}

bool AgentSession::run_session(api::Dispatcher::Stub& stub) {
  grpc::ClientContext context;
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      return false;
    stream_context_ = &context;
  }
  api::SessionRequest request;
  request.set_hostname(config_.hostname);
  request.set_addr(config_.advertise_addr);
  request.set_lb_backend(config_.lb_backend);
  auto stream = stub.Session(&context, request);
  api::Assignments assignments;
  std::string session_id;
  std::atomic<bool> session_over = false;
  std::thread ticker;
  while (stream->Read(&assignments)) {
    if (session_id.empty()) {
      session_id = assignments.session_id();
      connected_ = true;
      spdlog::info("session {} with manager {}", session_id, current_manager());
      ticker = std::thread([&, period = assignments.heartbeat_period_ms()] {
        // Everything this node knows, once: the manager may have missed reports meanwhile.
        auto reports = executor_.all_reports();
        auto last_beat = std::chrono::steady_clock::now();
        while (!session_over) {
          if (!reports.empty()) {
            api::UpdateTaskStatusRequest update;
            update.set_session_id(session_id);
            for (auto& r : reports)
              *update.add_updates() = std::move(r);
            api::Empty empty;
            auto status = stub.UpdateTaskStatus(call_context().get(), update, &empty);
            if (!status.ok())
              spdlog::warn("task reports: {}", status.error_message());
          }
          auto now = std::chrono::steady_clock::now();
          if (now - last_beat >= std::chrono::milliseconds(period) / 2) {
            api::HeartbeatRequest beat;
            beat.set_session_id(session_id);
            api::HeartbeatResponse answer;
            auto status = stub.Heartbeat(call_context().get(), beat, &answer);
            if (!status.ok()) {
              spdlog::warn("heartbeat: {}", status.error_message());
              context.TryCancel();  // a new session is needed
            }
            last_beat = now;
          }
          sleep_for(kReportEvery);
          reports = executor_.take_reports();
        }
      });
    }
    learn_managers(assignments);
    handle(stub, assignments);
    if (!assignments.role().empty() && assignments.role() != config_.role && config_.on_role)
      config_.on_role(assignments.role());
  }
  session_over = true;
  if (ticker.joinable())
    ticker.join();
  auto status = stream->Finish();
  {
    std::lock_guard lock(mutex_);
    stream_context_ = nullptr;
  }
  {
    std::lock_guard lock(mutex_);
    if (status.ok() || stopping_)
      return false;  // the manager ended it (its leadership changed), or we did
  }
  spdlog::warn("session with manager {}: {}", current_manager(), status.error_message());
  auto was = current_manager();
  choose_next(context);
  // Straight to a leader named elsewhere; a manager naming itself waits like any failure.
  return context.GetServerTrailingMetadata().count(api::kLeaderMetadata) > 0 &&
         current_manager() != was;
}

void AgentSession::handle(api::Dispatcher::Stub& stub, const api::Assignments& assignments) {
  // First: a node that joined is let in before this node's tasks expect its traffic.
  if (config_.firewall)
    apply_overlay_sources(*config_.firewall, assignments);
  std::vector<api::TaskAssignment> tasks;
  for (const auto& task : assignments.tasks()) {
    auto converted = api::assignment_from_proto(task);
    if (!converted.ok()) {
      spdlog::warn("assignment of task {}: {}", task.id(), converted.error().message());
      continue;
    }
    tasks.push_back(std::move(converted).value());
  }
  for (const auto& file : assignments.configs()) {
    for (auto& task : tasks) {
      for (const auto& ref : task.runtime.configs) {
        if (ref.config_id == file.config_id())
          task.config_data[ref.config_id] = file.data();
      }
    }
  }
  std::vector<manager::Network> networks;
  for (const auto& network : assignments.networks()) {
    auto converted = api::network_from_proto(network);
    if (converted.ok())
      networks.push_back(std::move(converted).value());
  }
  if (config_.on_roots && !assignments.trust_roots_pem().empty())
    config_.on_roots(assignments.trust_roots_pem(), assignments.signing_root_pem());
  gossip_.set_view(swarm_view(assignments, networks));
  std::optional<NodeIngress> node_ingress;
  if (auto addr = Ipv4Prefix::parse(assignments.node_ingress_addr());
      addr.ok() && !assignments.ingress_network_id().empty()) {
    node_ingress = NodeIngress{assignments.ingress_network_id(), *addr};
  }
  executor_.assign(std::move(tasks), std::move(networks), std::move(node_ingress));
  // The keys before the join: a member joins sealing with the swarm's key, or not at all.
  gossip_.set_keys({assignments.gossip_keys().begin(), assignments.gossip_keys().end()});
  std::vector<gossip::NodeAddress> peers;
  for (const auto& text : assignments.gossip_peers()) {
    if (auto peer = gossip::NodeAddress::parse(text); peer.ok())
      peers.push_back(*peer);
  }
  gossip_.join(peers);
  for (const auto& subscription : assignments.log_subscriptions()) {
    api::PublishLogsRequest publish;
    publish.set_subscription_id(subscription.id());
    std::vector<std::string> ids(subscription.task_ids().begin(), subscription.task_ids().end());
    for (auto& line : executor_.logs(ids, subscription.tail()))
      *publish.add_lines() = std::move(line);
    api::Empty empty;
    auto status = stub.PublishLogs(call_context().get(), publish, &empty);
    if (!status.ok())
      spdlog::warn("publish logs: {}", status.error_message());
  }
}

}  // namespace shoal::agent
