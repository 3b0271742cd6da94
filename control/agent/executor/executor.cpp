#include "control/agent/executor/executor.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "control/agent/executor/readiness.h"
#include "control/agent/rows/peer_record.h"
#include "control/runtime/runtime.h"
#include "dataplane/libnl_kernel.h"
#include "dataplane/netns.h"

namespace shoal::daemon {

using namespace std::chrono_literals;
using manager::TaskState;
namespace fs = std::filesystem;

namespace {

constexpr auto kPoll = 500ms;  // exits are noticed at least this often
constexpr size_t kStartsPerPass = 4;
constexpr auto kReadinessPoll = 50ms;  // while a new task's ports do not accept yet
// A new task with published TCP ports enters rotation once they accept, or after this anyway
// (its process may serve them later, or never: the requests then fail as in Docker).
constexpr auto kReadinessLimit = 10s;
// Between taking a task out of rotation and its SIGTERM: the other nodes learn of it through
// gossip (p99 well under a second on a LAN), and must stop sending it requests first.
constexpr auto kRotationDrain = 1500ms;

constexpr int kRunFailedToStart = 125;       // docker run's code when the daemon fails it
constexpr size_t kRunOutputMax = 16u << 20;  // of a `shoal run`: its client follows the tail

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

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
  executor->load_locals();
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
      gossip_(gossip),
      plane_(plane),
      kernel_(std::move(kernel)),
      overlay_(std::move(overlay)),
      runtime_(std::move(runtime)) {}

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
    networks_.clear();
    for (auto& network : networks)
      networks_[network.id] = std::move(network);
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
  for (const auto& [id, local] : local_) {
    api::TaskStatus status;
    status.set_task_id(id);
    status.set_state(std::string(manager::to_string(local.reported)));
    status.set_message(local.message);
    out.push_back(std::move(status));
  }
  std::lock_guard reports(reports_mutex_);
  reports_.clear();
  return out;
}

void Executor::report(const std::string& id, Local& local, TaskState state, std::string message,
                      int exit_code) {
  if (state <= local.reported)
    return;
  local.reported = state;
  local.message = message;
  api::TaskStatus status;
  status.set_task_id(id);
  status.set_state(std::string(manager::to_string(state)));
  status.set_message(std::move(message));
  status.set_exit_code(exit_code);
  {
    std::lock_guard reports(reports_mutex_);
    reports_.push_back(std::move(status));
  }
  (void)save_local(id, local);
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
  program_peers();
}

void Executor::start_and_stop() {
  // A few starts per pass: the tasks started go into rotation at the end of the pass, rather
  // than all at once after the whole batch (each start takes a while: namespaces, links).
  size_t started = 0;
  for (const auto& [id, task] : assigned_) {
    if (task.desired <= TaskState::kRunning && !local_.contains(id)) {
      if (started++ == kStartsPerPass) {
        changed_ = true;  // the rest on the next pass, which comes at once
        break;
      }
      start_task(task);
    }
  }
  awaiting_readiness_ = false;
  for (auto& [id, local] : local_) {
    auto it = assigned_.find(id);
    bool wanted = it != assigned_.end() && it->second.desired <= TaskState::kRunning;
    if (!wanted && !local.stopping && !manager::is_terminal(local.reported)) {
      local.stopping = true;
      // Out of rotation before its SIGTERM, so no request meets a dying task.
      auto drain = local.in_rotation ? std::chrono::milliseconds(kRotationDrain) : 0ms;
      take_out_of_rotation(id, local);
      auto grace = it != assigned_.end() ? it->second.runtime.stop_grace_period : 10s;
      spawn_stopper(id, grace, drain);
    } else if (wanted && local.reported == TaskState::kRunning && !local.in_rotation &&
               !local.torn_down) {
      if (ready_for_rotation(id, local)) {
        put_in_rotation(id, local);  // new, or adopted after a restart
      } else {
        awaiting_readiness_ = true;
      }
    }
  }
}

bool Executor::ready_for_rotation(const std::string& id, const Local& local) {
  if (!local.started_at || std::chrono::steady_clock::now() - *local.started_at > kReadinessLimit) {
    return true;
  }
  const auto& task = assigned_.at(id);
  std::vector<uint16_t> ports;
  for (const auto& port : task.ports) {
    if (port.protocol == manager::Protocol::kTcp) {
      ports.push_back(port.target);
    }
  }
  if (ports.empty() || local.addresses.empty()) {
    return true;
  }
  auto accepting = tcp_ports_accept(local.netns, local.addresses.front().addr(), ports);
  if (!accepting.ok()) {
    spdlog::warn("task {}: readiness probe: {}", id, accepting.error().message());
    return true;  // the probe is an aid: never the reason a task gets no traffic
  }
  return *accepting;
}

TaskService Executor::task_service(const std::string& id, const Local& local) const {
  const auto& task = assigned_.at(id);
  TaskService service;
  service.task_id = id;
  service.task_name = task.service_name + "." + std::to_string(task.slot) + "." + id;
  service.service_id = task.service_id;
  service.service_name = task.service_name;
  service.netns = local.netns;
  service.dnsrr = task.dnsrr;
  for (size_t index = 0; index < local.networks.size() && index < local.addresses.size(); ++index) {
    TaskEndpoint endpoint;
    endpoint.network_id = local.networks[index];
    endpoint.ip = local.addresses[index].addr();
    if (auto vip = task.vips.find(endpoint.network_id); vip != task.vips.end() && !task.dnsrr) {
      endpoint.vip = vip->second.addr();
    }
    if (auto aliases = task.runtime.network_aliases.find(endpoint.network_id);
        aliases != task.runtime.network_aliases.end()) {
      endpoint.aliases = aliases->second;
    }
    service.endpoints.push_back(std::move(endpoint));
  }
  for (const auto& port : task.ports) {
    agent::PublishedPortRecord record;
    record.port = port.published;
    record.target_port = port.target;
    record.protocol =
        port.protocol == manager::Protocol::kUdp ? lb::Protocol::kUdp : lb::Protocol::kTcp;
    record.mode = port.mode == manager::PublishMode::kHost ? agent::PublishMode::kHost
                                                           : agent::PublishMode::kIngress;
    service.ports.push_back(record);
  }
  return service;
}

void Executor::put_in_rotation(const std::string& id, Local& local) {
  if (auto running = plane_.task_running(task_service(id, local)); !running.ok()) {
    spdlog::warn("task {}: service plane: {}", id, running.error().message());
    return;
  }
  local.in_rotation = true;
}

void Executor::take_out_of_rotation(const std::string& id, Local& local) {
  // Even when put_in_rotation failed half way: the plane withdraws whatever it published.
  if (auto stopping = plane_.task_stopping(id); !stopping.ok()) {
    spdlog::warn("task {}: service plane: {}", id, stopping.error().message());
  }
  local.in_rotation = false;
}

void Executor::start_task(const api::TaskAssignment& task) {
  auto& local = local_[task.id];
  report(task.id, local, TaskState::kAccepted);
  report(task.id, local, TaskState::kPreparing);
  std::string netns;
  if (auto prepared = prepare_network(task, local, netns); !prepared.ok()) {
    spdlog::warn("task {}: {}", task.id, prepared.error().message());
    teardown(task.id, local);
    report(task.id, local, TaskState::kRejected, prepared.error().message());
    return;
  }
  (void)save_local(task.id, local);
  publish_endpoints(task.id, local);
  runtime::TaskSpec spec;
  spec.id = task.id;
  spec.argv = task.runtime.command;
  spec.argv.insert(spec.argv.end(), task.runtime.args.begin(), task.runtime.args.end());
  spec.env = task.runtime.env;
  spec.netns = netns;
  spec.resolv_conf = "nameserver 127.0.0.11\noptions ndots:0\n";
  spec.hostname = short_id(task.id);
  for (const auto& ref : task.runtime.configs) {
    auto data = task.config_data.find(ref.config_id);
    if (data == task.config_data.end()) {
      teardown(task.id, local);
      report(task.id, local, TaskState::kRejected, "config " + ref.config_name + " not received");
      return;
    }
    spec.files.push_back({.content = data->second, .target = ref.target, .mode = ref.mode});
  }
  report(task.id, local, TaskState::kStarting);
  if (auto listening = plane_.task_starting(task_service(task.id, local)); !listening.ok()) {
    spdlog::warn("task {}: service plane: {}", task.id, listening.error().message());
  }
  auto started = runtime_->start(spec);
  if (!started.ok()) {
    spdlog::warn("task {}: {}", task.id, started.error().message());
    teardown(task.id, local);
    report(task.id, local, TaskState::kFailed, started.error().message());
    return;
  }
  spdlog::info("task {} ({}.{}) running, pid {}", task.id, task.service_name, task.slot,
               started->pid);
  local.started_at = std::chrono::steady_clock::now();
  report(task.id, local, TaskState::kRunning, "started");
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
  auto local = local_.find(view.task_id);
  auto status = runtime_->status(view.task_id);
  if (!status.ok()) {
    if (local == local_.end() || !manager::is_terminal(local->second.reported))
      return view.task_id.empty() ? std::nullopt : std::optional(view);  // not started yet
    // It never started.
    view.ended = true;
    view.exit_code = kRunFailedToStart;
    view.failure = local->second.message;
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

Status Executor::save_local(const std::string& id, const Local& local) {
  std::vector<std::string> addresses;
  for (const auto& addr : local.addresses)
    addresses.push_back(addr.str());
  nlohmann::json json{{"networks", local.networks},
                      {"addresses", addresses},
                      {"reported", std::string(manager::to_string(local.reported))},
                      {"message", local.message},
                      {"torn_down", local.torn_down}};
  auto dir = config_.state_dir + "/agent";
  std::error_code ec;
  fs::create_directories(dir, ec);
  // Rewritten at every report, under mutex_: no fsync. After a reboot its task is gone anyway.
  return write_file_atomically(dir + "/" + id + ".json", json.dump() + "\n", 0644,
                               Durability::kAtomicOnly);
}

void Executor::load_locals() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.state_dir + "/agent", ec)) {
    if (entry.path().extension() != ".json")
      continue;
    std::ifstream in(entry.path());
    auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.is_object())
      continue;
    Local local;
    local.networks = json.value("networks", std::vector<std::string>{});
    for (const auto& text : json.value("addresses", std::vector<std::string>{})) {
      if (auto addr = Ipv4Prefix::parse(text); addr.ok())
        local.addresses.push_back(*addr);
    }
    auto state = manager::parse_task_state(json.value("reported", "new"));
    local.reported = state.ok() ? *state : TaskState::kNew;
    local.message = json.value("message", "");
    local.torn_down = json.value("torn_down", false);
    auto id = entry.path().stem().string();
    if (!local.torn_down)
      publish_endpoints(id, local);  // gossip state died with the agent
    local_[id] = std::move(local);
  }
}

}  // namespace shoal::daemon
