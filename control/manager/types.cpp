#include "control/manager/types.h"

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

}  // namespace shoal::manager
