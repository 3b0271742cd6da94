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
  std::string lb_backend;  // "ebpf" | "ipvs", as the agent reports it; empty until it does
  // The validity of the certificate the CA signed for it last (unix seconds; 0: unknown).
  int64_t cert_not_before = 0;
  int64_t cert_not_after = 0;
  // SHA-256 (hex) of the root that signed that certificate: a root rotation is done when every
  // node's is the new root's.
  std::string cert_issuer;
  // Revocation of replaced certificates: the serial (hex) of that certificate, and of the one
  // it replaced, which counts until a short grace after `cert_replaced_at` (unix seconds) so
  // that the node reconnects with the new one (control/manager/access/cert_status.h).
  std::string cert_serial;
  std::string previous_cert_serial;
  int64_t previous_cert_not_after = 0;
  int64_t cert_replaced_at = 0;
  // Older replaced certificates still valid: serial -> notAfter (unix seconds), dropped once
  // expired. With the previous one past its grace, what etcd's revocation list names.
  std::map<std::string, int64_t> revoked_cert_serials;
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
  std::map<std::string, std::string> labels;
  uint64_t version = 0;
};

// A config (Docker's `docker config`): data that tasks see as a read-only file. Immutable once
// created, like Docker's (only labels could change there; here nothing does).
struct Config {
  std::string id;
  std::string name;
  std::string data;  // bytes, at most kMaxConfigSize
  std::map<std::string, std::string> labels;
  TimePoint created_at{};
  uint64_t version = 0;
};
inline constexpr size_t kMaxConfigSize = 500 * 1024;  // Docker's limit

// A config a service's tasks get as a file: by id (the name travels along for messages).
struct ConfigReference {
  std::string config_id;
  std::string config_name;
  std::string target;  // absolute path inside the task
  uint32_t mode = 0444;

  friend bool operator==(const ConfigReference&, const ConfigReference&) = default;
};

// Aliases by network id; a network without aliases has no entry.
using NetworkAliases = std::map<std::string, std::vector<std::string>>;

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

enum class FailureAction { kPause, kContinue, kRollback };
enum class UpdateOrder { kStopFirst, kStartFirst };

// How a rolling update (or a rollback) replaces tasks; Docker's defaults.
struct UpdateConfig {
  uint64_t parallelism = 1;  // tasks replaced at once; 0: all
  Duration delay{0};         // between one task running and the next replacement
  FailureAction failure_action = FailureAction::kPause;
  Duration monitor = std::chrono::seconds(5);  // a new task ending within this counts as failed
  double max_failure_ratio = 0;                // failed / tasks tolerated before failure_action
  UpdateOrder order = UpdateOrder::kStopFirst;

  friend bool operator==(const UpdateConfig&, const UpdateConfig&) = default;
};

struct ServiceSpec {
  std::string name;
  std::vector<std::string> command;  // argv[0] and what follows it in --
  std::vector<std::string> args;
  std::vector<std::string> env;       // K=V
  bool global = false;                // global mode: one task per eligible node
  uint64_t replicas = 1;              // replicated mode
  std::vector<std::string> networks;  // network ids
  // More DNS names of the service, by network id (each one of `networks`): Docker's network
  // aliases. Names are answered only on their network.
  NetworkAliases network_aliases;
  std::vector<PortConfig> ports;
  EndpointMode endpoint_mode = EndpointMode::kVip;
  std::vector<std::string> constraints;  // "node.labels.zone==east"
  RestartPolicy restart;
  Duration stop_grace_period = std::chrono::seconds(10);
  uint64_t max_replicas_per_node = 0;  // 0: no limit
  std::vector<ConfigReference> configs;
  std::map<std::string, std::string> labels;
  std::vector<std::string> placement_prefs;  // "spread=node.labels.zone", outermost first
  UpdateConfig update;
  UpdateConfig rollback;
  // Docker's TaskSpec.ForceUpdate: `service update --force` bumps it, so every task differs.
  uint64_t force_update = 0;
  // A `shoal run` process: hidden from `service ls`, removed once its one task has ended.
  bool standalone_run = false;
};

enum class UpdateState {
  kNone,
  kUpdating,
  kPaused,
  kCompleted,
  kRollbackStarted,
  kRollbackPaused,
  kRollbackCompleted,
};

struct UpdateStatus {
  UpdateState state = UpdateState::kNone;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> completed_at;
  std::string message;
};

bool is_rollback(UpdateState state);

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
  // `service update --force`. Tasks whose runtime differs from the spec's are replaced as the
  // update planner says; spec_version tells the tasks of this update from older ones.
  uint64_t spec_version = 0;
  std::optional<ServiceSpec> previous_spec;  // what `service rollback` returns to
  UpdateStatus update_status;
  uint64_t version = 0;
};

// What the agent runs for a task, copied from the service when the task is made, so that a
// service update reaches running tasks only through their replacement.
struct TaskRuntime {
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<std::string> env;
  Duration stop_grace_period = std::chrono::seconds(10);
  std::vector<ConfigReference> configs;
  NetworkAliases network_aliases;  // published by the agent with the task's endpoint
  uint64_t force_update = 0;       // the spec's, so that --force makes every task outdated

  friend bool operator==(const TaskRuntime&, const TaskRuntime&) = default;
};

TaskRuntime runtime_of(const ServiceSpec& spec);

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
  std::optional<TimePoint> started_at;          // when it became RUNNING
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
std::string_view to_string(FailureAction action);
std::string_view to_string(UpdateOrder order);
std::string_view to_string(UpdateState state);
Result<FailureAction> parse_failure_action(std::string_view text);
Result<UpdateOrder> parse_update_order(std::string_view text);
Result<UpdateState> parse_update_state(std::string_view text);

}  // namespace shoal::manager
