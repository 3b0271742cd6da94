// The manager's objects: nodes, networks, services and tasks, as the store holds them.
//
// Plain values, copied freely. Each object carries `version`, the store's index at its last write:
// an update must name the version it read, so two writers cannot silently overwrite each other.
// A Task's observed state only moves forward (see advance()); that rule is what lets agents and
// the manager exchange state reports in any order without a task ever appearing to come back.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::manager {

// Wall-clock time: timestamps are persisted, and must still mean something after a restart.
using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

enum class NodeRole { kWorker, kManager };
enum class NodeAvailability { kActive, kPause, kDrain };
enum class NodeStatus { kUnknown, kReady, kDown };

struct Node {
  std::string id;
  std::string hostname;
  NodeRole role = NodeRole::kWorker;
  NodeAvailability availability = NodeAvailability::kActive;
  NodeStatus status = NodeStatus::kUnknown;
  std::map<std::string, std::string> labels;
  Ipv4 addr;  // the node's underlay address (VTEP)
  // The node's own endpoint on the ingress network (the routing mesh's source address).
  std::optional<Ipv4Prefix> ingress_addr;
  uint64_t version = 0;
};

struct Network {
  std::string id;
  std::string name;
  std::string driver = "overlay";
  uint32_t vni = 0;                  // 0 until the allocator gives one
  std::optional<Ipv4Prefix> subnet;  // explicit (--subnet) or from the pool
  std::optional<Ipv4> gateway;       // explicit (--gateway) or the subnet's first address
  bool attachable = false;
  bool ingress = false;
  uint64_t version = 0;
};

enum class Protocol { kTcp, kUdp, kSctp };
enum class PublishMode { kIngress, kHost };
enum class EndpointMode { kVip, kDnsrr };
enum class RestartCondition { kAny, kOnFailure, kNone };

struct PortConfig {
  uint16_t published = 0;  // 0: the allocator picks one from the dynamic range (ingress mode)
  uint16_t target = 0;
  Protocol protocol = Protocol::kTcp;
  PublishMode mode = PublishMode::kIngress;

  friend bool operator==(const PortConfig&, const PortConfig&) = default;
};

struct RestartPolicy {
  RestartCondition condition = RestartCondition::kAny;
  Duration delay = std::chrono::seconds(5);  // Docker's default
  uint64_t max_attempts = 0;                 // 0: unlimited
};

struct ServiceSpec {
  std::string name;
  std::vector<std::string> command;  // argv[0] and what follows it in --
  std::vector<std::string> args;
  std::vector<std::string> env;       // K=V
  bool global = false;                // global mode: one task per eligible node
  uint64_t replicas = 1;              // replicated mode
  std::vector<std::string> networks;  // network ids
  std::vector<PortConfig> ports;
  EndpointMode endpoint_mode = EndpointMode::kVip;
  std::vector<std::string> constraints;  // "node.labels.zone==east"
  RestartPolicy restart;
  Duration stop_grace_period = std::chrono::seconds(10);
  uint64_t max_replicas_per_node = 0;  // 0: no limit
};

// What the allocator decided for a service: its ports with published numbers filled in, and a
// VIP on each of its networks (ingress included when a port is published in ingress mode).
struct ServiceEndpoint {
  std::vector<PortConfig> ports;
  std::map<std::string, Ipv4Prefix> vips;  // by network id
};

struct Service {
  std::string id;
  ServiceSpec spec;
  ServiceEndpoint endpoint;
  bool allocated = false;
  // Bumped by whoever changes what the tasks run (command, env...; not replicas), and by
  // `service update --force`: tasks of an older spec_version are replaced, one at a time.
  uint64_t spec_version = 0;
  uint64_t version = 0;
};

// What the agent runs for a task, copied from the service when the task is made, so that a
// service update reaches running tasks only through their replacement.
struct TaskRuntime {
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<std::string> env;
  Duration stop_grace_period = std::chrono::seconds(10);

  friend bool operator==(const TaskRuntime&, const TaskRuntime&) = default;
};

// In order: a task's observed state may only move to a later one.
enum class TaskState {
  kNew,
  kPending,
  kAssigned,
  kAccepted,
  kPreparing,
  kStarting,
  kRunning,
  kComplete,
  kShutdown,
  kFailed,
  kRejected,
  kOrphaned,
};

struct TaskEvent {
  TaskState state = TaskState::kNew;
  std::string message;
};

struct Task {
  std::string id;
  std::string service_id;
  uint64_t slot = 0;    // replicated: 1..replicas; global: 0 (the node names the task)
  std::string node_id;  // empty until scheduled (preset for global tasks)
  TaskState desired = TaskState::kRunning;
  TaskState observed = TaskState::kNew;
  std::string message;  // why the task is where it is ("no suitable node (...)")
  std::map<std::string, Ipv4Prefix> addresses;  // by network id
  std::vector<TaskEvent> history;               // every observed state, oldest first
  uint64_t attempt = 0;                         // restarts of this slot before this task
  std::optional<TimePoint> ended_at;            // when it reached a terminal state
  std::optional<TimePoint> updated_at;          // when the observed state last moved
  TaskRuntime runtime;
  uint64_t spec_version = 0;  // the service's spec_version it was made from
  uint64_t version = 0;
};

bool is_terminal(TaskState state);  // COMPLETE and later: the task will not run again

// Moves the task's observed state to `next`, recording it in history. Refuses to move backwards
// (or to stay put), so a late report cannot undo a later one.
Status advance(Task& task, TaskState next, std::string message = {}, TimePoint now = Clock::now());

std::string_view to_string(TaskState state);
std::string_view to_string(NodeRole role);
std::string_view to_string(NodeAvailability availability);
std::string_view to_string(NodeStatus status);
std::string_view to_string(Protocol protocol);
std::string_view to_string(RestartCondition condition);

Result<NodeAvailability> parse_availability(std::string_view text);
Result<RestartCondition> parse_restart_condition(std::string_view text);
Result<Protocol> parse_protocol(std::string_view text);
Result<TaskState> parse_task_state(std::string_view text);
Result<NodeRole> parse_role(std::string_view text);
std::string_view to_string(PublishMode mode);
std::string_view to_string(EndpointMode mode);
Result<PublishMode> parse_publish_mode(std::string_view text);
Result<EndpointMode> parse_endpoint_mode(std::string_view text);

}  // namespace shoal::manager
