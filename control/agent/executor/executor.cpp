#include "control/agent/executor/executor.h"

#include <spdlog/spdlog.h>

#include "control/agent/rows/peer_record.h"
#include "control/runtime/runtime.h"
#include "dataplane/libnl_kernel.h"

namespace shoal::agent {

using namespace std::chrono_literals;
using manager::TaskState;

namespace {

constexpr auto kPoll = 500ms;  // exits are noticed at least this often
constexpr size_t kStartsPerPass = 4;
constexpr auto kReadinessPoll = 50ms;  // while a new task's ports do not accept yet
// Between taking a task out of rotation and its SIGTERM: the other nodes learn of it through
// gossip (p99 well under a second on a LAN), and must stop sending it requests first.
constexpr auto kRotationDrain = 1500ms;

constexpr int kRunFailedToStart = 125;       // docker run's code when the daemon fails it
constexpr size_t kRunOutputMax = 16u << 20;  // of a `shoal run`: its client follows the tail

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

Result<ExecutorParts> node_parts(const ExecutorConfig& config) {
  ExecutorParts parts;
  SHOAL_ASSIGN_OR_RETURN(parts.kernel, dataplane::LibnlKernel::create_for_current());
  SHOAL_ASSIGN_OR_RETURN(auto runtime,
                         runtime::Runtime::open({.node = config.node_tag,
                                                 .state_dir = config.state_dir + "/runtime",
                                                 .shim_path = {},
                                                 .cgroup_root = {},
                                                 // certificates, keys, shoald.sock, the store
                                                 .hidden_paths = {config.state_dir}}));
  parts.runtime = std::make_unique<runtime::Runtime>(std::move(runtime));
  return parts;
}

Result<std::unique_ptr<Executor>> Executor::start(ExecutorConfig config, TableMember& gossip,
                                                  TaskRotation& plane, ExecutorParts parts) {
  if (!parts.kernel || !parts.runtime)
    return invalid_argument("executor", "needs a kernel and a task runtime");
  dataplane::NodeConfig node{
      .tag = config.node_tag, .underlay_ip = config.advertise_addr, .underlay_mtu = std::nullopt};
  SHOAL_ASSIGN_OR_RETURN(auto overlay, dataplane::Overlay::create(node, *parts.kernel));
  auto executor =
      std::make_unique<Executor>(Key{}, std::move(config), gossip, plane, std::move(parts.kernel),
                                 std::move(overlay), std::move(parts.runtime));
  executor->load_records();
  // The gossip thread outlives the executor (GossipNode has no unwatch): events reach it only
  // while the guard still names it.
  executor->watch_guard_->target = executor.get();
  gossip.watch(agent::kPeerTable, [guard = executor->watch_guard_](const auto& event) {
    std::lock_guard lock(guard->mutex);
    if (guard->target != nullptr) {
      guard->target->note_peer(event);
    }
  });
  executor->thread_ = std::thread([e = executor.get()] { e->loop(); });
  return executor;
}

Executor::Executor(Key, ExecutorConfig config, TableMember& gossip, TaskRotation& plane,
                   std::unique_ptr<dataplane::NetKernel> kernel, dataplane::Overlay overlay,
                   std::unique_ptr<runtime::TaskRuntime> runtime)
    : config_(std::move(config)),
      plane_(plane),
      runtime_(std::move(runtime)),
      networks_(std::move(kernel), std::move(overlay), config_.advertise_addr, gossip),
      controller_(networks_, *runtime_, plane),
      files_(config_.state_dir) {}

Executor::~Executor() {
  {
    std::lock_guard lock(watch_guard_->mutex);
    watch_guard_->target = nullptr;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
  for (auto& stopper : stoppers_)
    stopper.thread.join();
}

void Executor::assign(std::vector<api::TaskAssignment> tasks,
                      std::vector<manager::Network> networks,
                      std::optional<NodeIngress> node_ingress) {
  {
    std::lock_guard lock(mutex_);
    node_ingress_ = std::move(node_ingress);
    assigned_.clear();
    for (auto& task : tasks)
      assigned_[task.id] = std::move(task);
    assigned_networks_.clear();
    for (auto& network : networks)
      assigned_networks_[network.id] = std::move(network);
    changed_ = true;
    assignments_seen_ = true;
  }
  cv_.notify_all();
}

std::vector<api::TaskStatus> Executor::take_reports() {
  // Not mutex_: a pass that starts many tasks holds it for long, and the session's thread,
  // which heartbeats, must not wait for it.
  std::lock_guard lock(reports_mutex_);
  return std::exchange(reports_, {});
}

std::vector<api::TaskStatus> Executor::all_reports() {
  std::lock_guard lock(mutex_);
  std::vector<api::TaskStatus> out;
  for (const auto& [id, record] : records_) {
    api::TaskStatus status;
    status.set_task_id(id);
    status.set_state(std::string(manager::to_string(record.reported)));
    status.set_message(record.message);
    out.push_back(std::move(status));
  }
  std::lock_guard reports(reports_mutex_);
  reports_.clear();
  return out;
}

void Executor::report(const std::string& id, TaskRecord& record, TaskState state,
                      std::string message, int exit_code) {
  if (state <= record.reported)
    return;
  record.reported = state;
  record.message = message;
  api::TaskStatus status;
  status.set_task_id(id);
  status.set_state(std::string(manager::to_string(state)));
  status.set_message(std::move(message));
  status.set_exit_code(exit_code);
  {
    std::lock_guard reports(reports_mutex_);
    reports_.push_back(std::move(status));
  }
  (void)files_.save(id, record);
}

void Executor::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, awaiting_readiness_ ? kReadinessPoll : kPoll,
                 [this] { return stopping_ || changed_; });
    if (stopping_)
      break;
    changed_ = false;
    reconcile();
    if (changed_) {
      // More to do at once (a batch of starts): let the other threads in between passes.
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
  }
}

void Executor::reconcile() {
  // Before the manager's first word nothing is known to be unwanted: tasks keep running
  // (a restarted agent with no manager in reach), but exits are still noticed.
  if (assignments_seen_) {
    attach_node_ingress();
    start_and_stop();
  }
  reap_exits();
  if (assignments_seen_) {
    forget_finished();
  }
  networks_.program_peers(records_, assigned_networks_);
}

void Executor::attach_node_ingress() {
  if (!node_ingress_ || node_ingress_ == node_ingress_attached_)
    return;
  auto network = assigned_networks_.find(node_ingress_->network_id);
  if (network == assigned_networks_.end())
    return;
  if (auto attached = networks_.attach_node(network->second, node_ingress_->addr); !attached.ok()) {
    spdlog::warn("ingress endpoint of the node: {}", attached.error().message());
    return;
  }
  node_ingress_attached_ = node_ingress_;
  spdlog::info("node endpoint {} on the ingress network", node_ingress_->addr.str());
  if (auto mesh = plane_.enable_mesh(node_ingress_->network_id, node_ingress_->addr.addr());
      !mesh.ok()) {
    spdlog::warn("routing mesh: {}", mesh.error().message());
  }
}

void Executor::start_and_stop() {
  // A few starts per pass: the tasks started go into rotation at the end of the pass, rather
  // than all at once after the whole batch (each start takes a while: namespaces, links).
  size_t started = 0;
  for (const auto& [id, task] : assigned_) {
    if (task.desired <= TaskState::kRunning && !records_.contains(id)) {
      if (started++ == kStartsPerPass) {
        changed_ = true;  // the rest on the next pass, which comes at once
        break;
      }
      start_task(task);
    }
  }
  awaiting_readiness_ = false;
  for (auto& [id, record] : records_) {
    auto it = assigned_.find(id);
    bool wanted = it != assigned_.end() && it->second.desired <= TaskState::kRunning;
    if (!wanted && !record.stopping && !manager::is_terminal(record.reported)) {
      record.stopping = true;
      // Out of rotation before its SIGTERM, so no request meets a dying task.
      auto drain = record.in_rotation ? std::chrono::milliseconds(kRotationDrain) : 0ms;
      controller_.take_out_of_rotation(id, record);
      auto grace = it != assigned_.end() ? it->second.runtime.stop_grace_period : 10s;
      spawn_stopper(id, grace, drain);
    } else if (wanted && record.reported == TaskState::kRunning && !record.in_rotation &&
               !record.torn_down) {
      if (controller_.ready_for_rotation(it->second, record)) {
        controller_.put_in_rotation(it->second, record);  // new, or adopted after a restart
      } else {
        awaiting_readiness_ = true;
      }
    }
  }
}

void Executor::start_task(const api::TaskAssignment& task) {
  auto& record = records_[task.id];
  report(task.id, record, TaskState::kAccepted);
  report(task.id, record, TaskState::kPreparing);
  auto spec = task_spec(task);
  if (!spec.ok())
    return fail_start(task.id, record, TaskState::kRejected, spec.error());
  if (auto prepared = controller_.prepare(task, assigned_networks_, record); !prepared.ok())
    return fail_start(task.id, record, TaskState::kRejected, prepared.error());
  (void)files_.save(task.id, record);
  report(task.id, record, TaskState::kStarting);
  auto pid = controller_.start(task, std::move(spec).value(), record);
  if (!pid.ok())
    return fail_start(task.id, record, TaskState::kFailed, pid.error());
  spdlog::info("task {} ({}.{}) running, pid {}", task.id, task.service_name, task.slot, *pid);
  report(task.id, record, TaskState::kRunning, "started");
}

void Executor::fail_start(const std::string& id, TaskRecord& record, TaskState state,
                          const Error& why) {
  spdlog::warn("task {}: {}", id, why.message());
  teardown(id, record);
  report(id, record, state, why.message());
}

void Executor::note_peer(const gossip::networkdb::WatchEvent& event) {
  if (!networks_.note_peer(event))
    return;
  {
    std::lock_guard lock(mutex_);
    changed_ = true;
  }
  cv_.notify_all();
}

std::optional<Executor::RunView> Executor::run_view(const std::string& service_id,
                                                    const std::string& task_id) {
  std::lock_guard lock(mutex_);
  RunView view;
  view.task_id = task_id;
  if (view.task_id.empty()) {
    for (const auto& [id, task] : assigned_) {
      if (task.service_id == service_id)
        view.task_id = id;
    }
  }
  auto record = records_.find(view.task_id);
  auto status = runtime_->status(view.task_id);
  if (!status.ok()) {
    if (record == records_.end() || !manager::is_terminal(record->second.reported))
      return view.task_id.empty() ? std::nullopt : std::optional(view);  // not started yet
    // It never started.
    view.ended = true;
    view.exit_code = kRunFailedToStart;
    view.failure = record->second.message;
    return view;
  }
  if (auto logs = runtime_->logs(view.task_id, kRunOutputMax); logs.ok()) {
    view.out = std::move(logs->out);
    view.err = std::move(logs->err);
  }
  if (status->phase == runtime::TaskPhase::kExited) {
    view.ended = true;
    view.exit_code = status->exit_code ? *status->exit_code
                     : status->signal  ? 128 + *status->signal
                                       : kRunFailedToStart;
  }
  return view;
}

std::vector<api::LogLine> Executor::logs(const std::vector<std::string>& task_ids, uint32_t tail) {
  constexpr size_t kMaxBytes = 1 << 20;
  std::vector<api::LogLine> out;
  for (const auto& id : task_ids) {
    auto logs = runtime_->logs(id, kMaxBytes);
    if (!logs.ok())
      continue;
    for (const auto& [stream, text] : {std::pair{"stdout", logs->out}, {"stderr", logs->err}}) {
      auto lines = split_lines(text);
      size_t first = tail != 0 && lines.size() > tail ? lines.size() - tail : 0;
      for (size_t i = first; i < lines.size(); ++i) {
        api::LogLine line;
        line.set_task_id(id);
        line.set_stream(stream);
        line.set_line(lines[i]);
        out.push_back(std::move(line));
      }
    }
  }
  return out;
}

void Executor::load_records() {
  records_ = files_.load();
  for (const auto& [id, record] : records_) {
    if (!record.torn_down)
      networks_.publish(id, record);  // gossip state died with the agent
  }
}

}  // namespace shoal::agent
