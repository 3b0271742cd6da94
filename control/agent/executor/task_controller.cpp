#include "control/agent/executor/task_controller.h"

#include <spdlog/spdlog.h>

#include "control/agent/executor/readiness.h"

namespace shoal::agent {

using namespace std::chrono_literals;
using manager::TaskState;

namespace {

// A new task with published TCP ports enters rotation once they accept, or after this anyway
// (its process may serve them later, or never: the requests then fail as in Docker).
constexpr auto kReadinessLimit = 10s;

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

std::vector<TaskEndpoint> task_endpoints(const api::TaskAssignment& task,
                                         const TaskRecord& record) {
  std::vector<TaskEndpoint> endpoints;
  for (size_t index = 0; index < record.networks.size() && index < record.addresses.size();
       ++index) {
    TaskEndpoint endpoint;
    endpoint.network_id = record.networks[index];
    endpoint.ip = record.addresses[index].addr();
    if (auto vip = task.vips.find(endpoint.network_id); vip != task.vips.end() && !task.dnsrr)
      endpoint.vip = vip->second.addr();
    if (auto aliases = task.runtime.network_aliases.find(endpoint.network_id);
        aliases != task.runtime.network_aliases.end()) {
      endpoint.aliases = aliases->second;
    }
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

}  // namespace

Result<runtime::TaskSpec> task_spec(const api::TaskAssignment& task) {
  runtime::TaskSpec spec;
  spec.id = task.id;
  spec.argv = task.runtime.command;
  spec.argv.insert(spec.argv.end(), task.runtime.args.begin(), task.runtime.args.end());
  spec.env = task.runtime.env;
  spec.resolv_conf = "nameserver 127.0.0.11\noptions ndots:0\n";
  spec.hostname = short_id(task.id);
  for (const auto& ref : task.runtime.configs) {
    auto data = task.config_data.find(ref.config_id);
    if (data == task.config_data.end())
      return Error{"config " + ref.config_name + " not received", {}, 0, {}};
    spec.files.push_back({.content = data->second, .target = ref.target, .mode = ref.mode});
  }
  return spec;
}

TaskService task_service(const api::TaskAssignment& task, const TaskRecord& record) {
  TaskService service;
  service.task_id = task.id;
  service.task_name = task.service_name + "." + std::to_string(task.slot) + "." + task.id;
  service.service_id = task.service_id;
  service.service_name = task.service_name;
  service.netns = record.netns;
  service.dnsrr = task.dnsrr;
  service.endpoints = task_endpoints(task, record);
  for (const auto& port : task.ports) {
    agent::PublishedPortRecord published;
    published.port = port.published;
    published.target_port = port.target;
    published.protocol =
        port.protocol == manager::Protocol::kUdp ? lb::Protocol::kUdp : lb::Protocol::kTcp;
    published.mode = port.mode == manager::PublishMode::kHost ? agent::PublishMode::kHost
                                                              : agent::PublishMode::kIngress;
    service.ports.push_back(published);
  }
  return service;
}

ExitReport exit_report(const runtime::TaskStatus& status) {
  if (status.exit_code == 0)
    return {TaskState::kComplete, "finished", 0};
  if (status.exit_code) {
    return {TaskState::kFailed, "task: non-zero exit (" + std::to_string(*status.exit_code) + ")",
            *status.exit_code};
  }
  if (status.signal) {
    return {TaskState::kFailed, "task: killed by signal " + std::to_string(*status.signal),
            128 + *status.signal};
  }
  return {TaskState::kFailed, "task: exited while the agent was down", 0};
}

TaskController::TaskController(TaskNetworks& networks, runtime::TaskRuntime& runtime,
                               TaskRotation& plane)
    : networks_(networks), runtime_(runtime), plane_(plane) {}

Status TaskController::prepare(const api::TaskAssignment& task, const NetworkMap& networks,
                               TaskRecord& record) {
  SHOAL_TRY(networks_.attach_task(task, networks, record));
  networks_.publish(task.id, record);
  return {};
}

Result<int> TaskController::start(const api::TaskAssignment& task, runtime::TaskSpec spec,
                                  TaskRecord& record) {
  if (auto listening = plane_.task_starting(task_service(task, record)); !listening.ok())
    spdlog::warn("task {}: service plane: {}", task.id, listening.error().message());
  spec.netns = record.netns;
  SHOAL_ASSIGN_OR_RETURN(auto started, runtime_.start(spec));
  record.started_at = std::chrono::steady_clock::now();
  return started.pid;
}

bool TaskController::ready_for_rotation(const api::TaskAssignment& task,
                                        const TaskRecord& record) const {
  if (!record.started_at || std::chrono::steady_clock::now() - *record.started_at > kReadinessLimit)
    return true;
  std::vector<uint16_t> ports;
  for (const auto& port : task.ports) {
    if (port.protocol == manager::Protocol::kTcp)
      ports.push_back(port.target);
  }
  if (ports.empty() || record.addresses.empty())
    return true;
  auto accepting = tcp_ports_accept(record.netns, record.addresses.front().addr(), ports);
  if (!accepting.ok()) {
    spdlog::warn("task {}: readiness probe: {}", task.id, accepting.error().message());
    return true;  // the probe is an aid: never the reason a task gets no traffic
  }
  return *accepting;
}

void TaskController::put_in_rotation(const api::TaskAssignment& task, TaskRecord& record) {
  if (auto running = plane_.task_running(task_service(task, record)); !running.ok()) {
    spdlog::warn("task {}: service plane: {}", task.id, running.error().message());
    return;
  }
  record.in_rotation = true;
}

void TaskController::take_out_of_rotation(const std::string& task_id, TaskRecord& record) {
  // Even when put_in_rotation failed half way: the plane withdraws whatever it published.
  if (auto stopping = plane_.task_stopping(task_id); !stopping.ok())
    spdlog::warn("task {}: service plane: {}", task_id, stopping.error().message());
  record.in_rotation = false;
}

Status TaskController::stop(const std::string& task_id, std::chrono::milliseconds grace) {
  return runtime_.stop(task_id, grace);
}

void TaskController::teardown(const std::string& task_id, TaskRecord& record) {
  if (record.torn_down)
    return;
  take_out_of_rotation(task_id, record);
  networks_.detach_task(task_id, record);
  record.torn_down = true;
}

}  // namespace shoal::agent
