#include "control/manager/rules/types.h"

#include <initializer_list>

namespace shoal::manager {

bool is_terminal(TaskState state) {
  return state >= TaskState::kComplete;
}

Status advance(Task& task, TaskState next, std::string message, TimePoint now) {
  if (next <= task.observed) {
    return invalid_argument("task " + task.id, "state cannot move from " +
                                                   std::string(to_string(task.observed)) +
                                                   " back to " + std::string(to_string(next)));
  }
  task.observed = next;
  task.message = message;
  task.history.push_back(TaskEvent{.state = next, .message = std::move(message)});
  task.updated_at = now;
  if (next == TaskState::kRunning) {
    task.started_at = now;
  }
  if (is_terminal(next)) {
    task.ended_at = now;
  }
  return {};
}

std::string_view to_string(TaskState state) {
  switch (state) {
    case TaskState::kNew:
      return "new";
    case TaskState::kPending:
      return "pending";
    case TaskState::kAssigned:
      return "assigned";
    case TaskState::kAccepted:
      return "accepted";
    case TaskState::kPreparing:
      return "preparing";
    case TaskState::kStarting:
      return "starting";
    case TaskState::kRunning:
      return "running";
    case TaskState::kComplete:
      return "complete";
    case TaskState::kShutdown:
      return "shutdown";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kRejected:
      return "rejected";
    case TaskState::kOrphaned:
      return "orphaned";
  }
  return "unknown";
}

std::string_view to_string(NodeRole role) {
  return role == NodeRole::kManager ? "manager" : "worker";
}

std::string_view to_string(NodeAvailability availability) {
  switch (availability) {
    case NodeAvailability::kActive:
      return "active";
    case NodeAvailability::kPause:
      return "pause";
    case NodeAvailability::kDrain:
      return "drain";
  }
  return "unknown";
}

std::string_view to_string(NodeStatus status) {
  switch (status) {
    case NodeStatus::kReady:
      return "ready";
    case NodeStatus::kDown:
      return "down";
    case NodeStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kSctp:
      return "sctp";
  }
  return "unknown";
}

std::string_view to_string(RestartCondition condition) {
  switch (condition) {
    case RestartCondition::kAny:
      return "any";
    case RestartCondition::kOnFailure:
      return "on-failure";
    case RestartCondition::kNone:
      return "none";
  }
  return "unknown";
}

Result<NodeAvailability> parse_availability(std::string_view text) {
  for (auto value :
       {NodeAvailability::kActive, NodeAvailability::kPause, NodeAvailability::kDrain}) {
    if (text == to_string(value)) {
      return value;
    }
  }
  return invalid_argument("availability \"" + std::string(text) + "\"",
                          "expected active, pause or drain");
}

Result<RestartCondition> parse_restart_condition(std::string_view text) {
  for (auto value :
       {RestartCondition::kAny, RestartCondition::kOnFailure, RestartCondition::kNone}) {
    if (text == to_string(value)) {
      return value;
    }
  }
  return invalid_argument("restart condition \"" + std::string(text) + "\"",
                          "expected any, on-failure or none");
}

Result<Protocol> parse_protocol(std::string_view text) {
  for (auto value : {Protocol::kTcp, Protocol::kUdp, Protocol::kSctp}) {
    if (text == to_string(value)) {
      return value;
    }
  }
  return invalid_argument("protocol \"" + std::string(text) + "\"", "expected tcp, udp or sctp");
}

namespace {

// The word-to-value direction of the to_string() tables, with one clear line on a miss.
template <typename T>
Result<T> parse_word(std::string_view text, std::initializer_list<T> values, const char* what,
                     const char* expected) {
  for (auto value : values) {
    if (text == to_string(value)) {
      return value;
    }
  }
  return invalid_argument(std::string(what) + " \"" + std::string(text) + "\"", expected);
}

}  // namespace

Result<TaskState> parse_task_state(std::string_view text) {
  return parse_word(
      text,
      {TaskState::kNew, TaskState::kPending, TaskState::kAssigned, TaskState::kAccepted,
       TaskState::kPreparing, TaskState::kStarting, TaskState::kRunning, TaskState::kComplete,
       TaskState::kShutdown, TaskState::kFailed, TaskState::kRejected, TaskState::kOrphaned},
      "task state", "expected one of new ... orphaned");
}

Result<NodeRole> parse_role(std::string_view text) {
  return parse_word(text, {NodeRole::kWorker, NodeRole::kManager}, "role",
                    "expected worker or manager");
}

std::string_view to_string(PublishMode mode) {
  return mode == PublishMode::kHost ? "host" : "ingress";
}

std::string_view to_string(EndpointMode mode) {
  return mode == EndpointMode::kDnsrr ? "dnsrr" : "vip";
}

Result<PublishMode> parse_publish_mode(std::string_view text) {
  return parse_word(text, {PublishMode::kIngress, PublishMode::kHost}, "publish mode",
                    "expected ingress or host");
}

Result<EndpointMode> parse_endpoint_mode(std::string_view text) {
  return parse_word(text, {EndpointMode::kVip, EndpointMode::kDnsrr}, "endpoint mode",
                    "expected vip or dnsrr");
}

bool is_rollback(UpdateState state) {
  return state == UpdateState::kRollbackStarted || state == UpdateState::kRollbackPaused ||
         state == UpdateState::kRollbackCompleted;
}

TaskRuntime runtime_of(const ServiceSpec& spec) {
  return TaskRuntime{.command = spec.command,
                     .args = spec.args,
                     .env = spec.env,
                     .stop_grace_period = spec.stop_grace_period,
                     .configs = spec.configs,
                     .network_aliases = spec.network_aliases,
                     .force_update = spec.force_update};
}

std::string_view to_string(FailureAction action) {
  switch (action) {
    case FailureAction::kPause:
      return "pause";
    case FailureAction::kContinue:
      return "continue";
    case FailureAction::kRollback:
      return "rollback";
  }
  return "unknown";
}

std::string_view to_string(UpdateOrder order) {
  return order == UpdateOrder::kStartFirst ? "start-first" : "stop-first";
}

std::string_view to_string(UpdateState state) {
  switch (state) {
    case UpdateState::kNone:
      return "";
    case UpdateState::kUpdating:
      return "updating";
    case UpdateState::kPaused:
      return "paused";
    case UpdateState::kCompleted:
      return "completed";
    case UpdateState::kRollbackStarted:
      return "rollback_started";
    case UpdateState::kRollbackPaused:
      return "rollback_paused";
    case UpdateState::kRollbackCompleted:
      return "rollback_completed";
  }
  return "unknown";
}

Result<FailureAction> parse_failure_action(std::string_view text) {
  return parse_word(text,
                    {FailureAction::kPause, FailureAction::kContinue, FailureAction::kRollback},
                    "failure action", "expected pause, continue or rollback");
}

Result<UpdateOrder> parse_update_order(std::string_view text) {
  return parse_word(text, {UpdateOrder::kStopFirst, UpdateOrder::kStartFirst}, "update order",
                    "expected stop-first or start-first");
}

Result<UpdateState> parse_update_state(std::string_view text) {
  return parse_word(text,
                    {UpdateState::kNone, UpdateState::kUpdating, UpdateState::kPaused,
                     UpdateState::kCompleted, UpdateState::kRollbackStarted,
                     UpdateState::kRollbackPaused, UpdateState::kRollbackCompleted},
                    "update state", "expected updating, paused, completed or rollback_*");
}

}  // namespace shoal::manager
