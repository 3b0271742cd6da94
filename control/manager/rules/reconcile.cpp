#include "control/manager/rules/reconcile.h"

#include <algorithm>
#include <map>
#include <set>

#include "control/manager/rules/constraint.h"
#include "control/manager/rules/service_update.h"
#include "control/manager/rules/update_planner.h"

namespace shoal::manager {

namespace {

bool is_live(const Task& task) {
  return task.desired <= TaskState::kRunning;
}

bool should_restart(const Task& task, const RestartPolicy& policy) {
  if (policy.condition == RestartCondition::kNone) {
    return false;
  }
  if (policy.condition == RestartCondition::kOnFailure && task.observed == TaskState::kComplete) {
    return false;
  }
  return policy.max_attempts == 0 || task.attempt < policy.max_attempts;
}

// The working set of one reconcile: tasks as they will be after the decisions, so later steps
// (scale, history) see earlier ones.
class Plan {
 public:
  Plan(const Service* service, const std::vector<Task>& tasks, TimePoint now, IdGenerator* ids)
      : service_(service), now_(now), ids_(ids) {
    for (const auto& task : tasks) {
      tasks_.emplace(task.id, task);
    }
  }

  const std::map<std::string, Task>& tasks() const { return tasks_; }

  Task& create(uint64_t slot, std::string node_id, uint64_t attempt) {
    Task task;
    task.id = ids_->next();
    task.service_id = service_->id;
    task.slot = slot;
    task.node_id = std::move(node_id);
    task.attempt = attempt;
    task.runtime = runtime_of(service_->spec);
    task.spec_version = service_->spec_version;
    created_.insert(task.id);
    auto id = task.id;
    return tasks_.emplace(id, std::move(task)).first->second;
  }

  // The agent stops it; a task never handed to a node is marked SHUTDOWN here, since no agent
  // will ever report on it. A task created in this same pass is simply not created.
  void shut_down(const std::string& id, const std::string& why) {
    if (created_.erase(id) > 0) {
      tasks_.erase(id);
      return;
    }
    auto& task = tasks_.at(id);
    task.desired = TaskState::kShutdown;
    if (task.observed < TaskState::kAssigned) {
      (void)advance(task, TaskState::kShutdown, why, now_);
    } else if (!is_terminal(task.observed)) {
      task.message = why;  // why the agent is asked to stop it
    }
    changed_.insert(id);
  }

  void orphan(const std::string& id, const std::string& why) {
    auto& task = tasks_.at(id);
    if (!is_terminal(task.observed)) {
      (void)advance(task, TaskState::kOrphaned, why, now_);
    }
    shut_down(id, why);
  }

  void remove(const std::string& id) {
    tasks_.erase(id);
    changed_.erase(id);
    removed_.push_back(id);
  }

  void wake_at(TimePoint when) {
    if (!wake_ || when < *wake_) {
      wake_ = when;
    }
  }

  // Keeps at most `limit` tasks per group (slot, or node), the live ones first, then the newest
  // finished ones; what is beyond is removed.
  template <typename KeyOf>
  void trim_history(uint64_t limit, KeyOf key_of) {
    std::map<std::string, std::vector<const Task*>> groups;
    for (const auto& [id, task] : tasks_) {
      groups[key_of(task)].push_back(&task);
    }
    std::vector<std::string> doomed;
    for (auto& [key, group] : groups) {
      if (group.size() <= limit) {
        continue;
      }
      std::vector<const Task*> dead;
      for (const Task* task : group) {
        if (!is_live(*task) && is_terminal(task->observed)) {
          dead.push_back(task);
        }
      }
      std::sort(dead.begin(), dead.end(), [](const Task* a, const Task* b) {
        return std::tie(a->ended_at, a->id) < std::tie(b->ended_at, b->id);
      });
      size_t excess = std::min(group.size() - limit, dead.size());
      for (size_t i = 0; i < excess; ++i) {
        doomed.push_back(dead[i]->id);
      }
    }
    for (const auto& id : doomed) {
      remove(id);
    }
  }

  Decisions finish() {
    Decisions decisions;
    for (const auto& id : created_) {
      decisions.create.push_back(tasks_.at(id));
    }
    for (const auto& id : changed_) {
      decisions.update.push_back(tasks_.at(id));
    }
    decisions.remove = std::move(removed_);
    decisions.wake_at = wake_;
    decisions.service = std::move(service_update_);
    return decisions;
  }

  // Runs the update planner over `slots` and applies its plan. stop-first: the old task is
  // stopped, and its slot refilled (by the caller's count) once it exited; start-first: the new
  // task starts beside the old one, which is stopped once the new one runs. `node_of` gives the
  // node a replacement must go to (global services), or empty.
  template <typename NodeOf>
  void apply_update(const std::vector<UpdateSlot>& slots, NodeOf node_of) {
    const Service& service = *service_;
    bool rolling_back = is_rollback(service.update_status.state);
    UpdateInput input{.config = rolling_back ? service.spec.rollback : service.spec.update,
                      .status = service.update_status,
                      .spec_version = service.spec_version,
                      .slots = slots,
                      .history = {},
                      .now = now_};
    for (const auto& [id, task] : tasks_) {
      input.history.push_back(&task);
    }
    auto update = plan_update(input);
    if (update.outcome == UpdateOutcome::kRollback && !service.previous_spec) {
      update.outcome = UpdateOutcome::kPaused;  // nothing to return to
    }
    if (auto status = next_status(service.update_status, update, now_)) {
      Service changed = service;
      changed.update_status = *status;
      if (update.outcome == UpdateOutcome::kRollback) {
        std::swap(changed.spec, *changed.previous_spec);
        ++changed.spec_version;
      }
      service_update_ = std::move(changed);
    }
    if (update.wake_at) {
      wake_at(*update.wake_at);
    }
    std::string why = "updating to spec version " + std::to_string(service.spec_version);
    bool start_first = input.config.order == UpdateOrder::kStartFirst;
    // Pointers into tasks_ stay valid: std::map insertions move nothing, and old tasks are
    // never erased here.
    for (const Task* old : update.replace) {
      uint64_t slot = old->slot;
      std::string node = node_of(*old);
      if (!start_first) {
        shut_down(old->id, why);
        if (!is_terminal(old->observed)) {
          continue;  // the slot is refilled once the old task exited
        }
      }
      create(slot, std::move(node), 0);
    }
    for (const Task* old : update.stop) {
      shut_down(old->id, why);
    }
  }

  // The policy step for a live task that ended by itself. Returns the id of the task that now
  // holds its place (itself, or its replacement).
  std::string restart_if_due(const std::string& id, std::string node_for_replacement) {
    const Task& task = tasks_.at(id);
    const auto& policy = service_->spec.restart;
    if (!should_restart(task, policy)) {
      return id;
    }
    TimePoint due = task.ended_at.value_or(now_) + policy.delay;
    if (now_ < due) {
      wake_at(due);
      return id;
    }
    uint64_t slot = task.slot;
    uint64_t attempt = task.attempt + 1;
    shut_down(id, "restarting");
    return create(slot, std::move(node_for_replacement), attempt).id;
  }

 private:
  const Service* service_;
  TimePoint now_;
  IdGenerator* ids_;
  std::map<std::string, Task> tasks_;
  std::set<std::string> created_;
  std::set<std::string> changed_;
  std::vector<std::string> removed_;
  std::optional<TimePoint> wake_;
  std::optional<Service> service_update_;
};

}  // namespace

namespace {

// The tasks holding one slot (or one global node): live ones, and an outdated one still
// stopping for the update.
struct SlotTasks {
  std::vector<std::string> live;
  std::string stopping;
};

bool node_usable(const NodeIndex& nodes, const std::string& node_id) {
  auto it = nodes.find(node_id);
  return it != nodes.end() && it->second->status != NodeStatus::kDown &&
         it->second->availability != NodeAvailability::kDrain;
}

// An outdated task asked to stop that has not exited yet: its slot waits for it (stop-first).
bool stopping_for_update(const Task& task, const TaskRuntime& wanted, const NodeIndex& nodes) {
  return task.desired == TaskState::kShutdown && task.observed >= TaskState::kAssigned &&
         !is_terminal(task.observed) && task_outdated(task, wanted, nullptr, nullptr) &&
         node_usable(nodes, task.node_id);
}

// Splits each group's live tasks into one fresh and one outdated (extra ones are duplicates and
// shut down) and builds the planner's slots, in group order.
template <typename Key, typename IsOutdated>
std::vector<UpdateSlot> update_slots(std::map<Key, SlotTasks>& groups,
                                     const std::map<std::string, Task>& tasks,
                                     IsOutdated is_outdated, std::vector<std::string>& duplicates) {
  std::vector<UpdateSlot> slots;
  for (auto& [key, group] : groups) {
    UpdateSlot slot;
    for (const auto& id : group.live) {
      const Task& task = tasks.at(id);
      const Task*& place = is_outdated(task) ? slot.outdated : slot.fresh;
      if (place == nullptr) {
        place = &task;
      } else {
        duplicates.push_back(id);
      }
    }
    if (!group.stopping.empty()) {
      slot.stopping = &tasks.at(group.stopping);
    }
    slots.push_back(slot);
  }
  return slots;
}

}  // namespace

Decisions reconcile_replicated(const Service& service, const std::vector<Task>& tasks,
                               const NodeIndex& nodes, TimePoint now,
                               const OrchestratorConfig& config, IdGenerator& ids) {
  Plan plan(&service, tasks, now, &ids);
  const TaskRuntime wanted_runtime = runtime_of(service.spec);
  std::map<uint64_t, SlotTasks> slots;
  for (const auto& task : tasks) {
    if (!is_live(task)) {
      if (stopping_for_update(task, wanted_runtime, nodes)) {
        slots[task.slot].stopping = task.id;
      }
      continue;
    }
    if (!is_terminal(task.observed) && !task.node_id.empty()) {
      auto node = nodes.find(task.node_id);
      bool gone = node == nodes.end() || node->second->status == NodeStatus::kDown;
      if (gone || node->second->availability == NodeAvailability::kDrain) {
        if (gone) {
          plan.orphan(task.id, "node " + task.node_id + " is down");
        } else {
          plan.shut_down(task.id, "node " + task.node_id + " is drained");
        }
        slots[task.slot].live.push_back(plan.create(task.slot, {}, task.attempt).id);
        continue;
      }
    }
    if (is_terminal(task.observed)) {
      slots[task.slot].live.push_back(plan.restart_if_due(task.id, {}));
      continue;
    }
    slots[task.slot].live.push_back(task.id);
  }

  uint64_t wanted = service.spec.replicas;
  // Scale down: highest slots first.
  while (slots.size() > wanted) {
    auto highest = std::prev(slots.end());
    for (const auto& id : highest->second.live) {
      plan.shut_down(id, "scaled down");
    }
    slots.erase(highest);
  }
  // Scale up: the lowest free slot numbers (a slot whose old task is stopping is not free).
  for (uint64_t slot = 1; slots.size() < wanted; ++slot) {
    if (!slots.contains(slot)) {
      slots[slot].live.push_back(plan.create(slot, {}, 0).id);
    }
  }
  auto constraints = Constraint::parse_all(service.spec.constraints);
  auto is_outdated = [&](const Task& task) {
    auto node = nodes.find(task.node_id);
    return task_outdated(task, wanted_runtime, constraints.ok() ? &*constraints : nullptr,
                         node == nodes.end() ? nullptr : node->second);
  };
  std::vector<std::string> duplicates;
  auto update = update_slots(slots, plan.tasks(), is_outdated, duplicates);
  for (const auto& id : duplicates) {
    plan.shut_down(id, "duplicate task in slot " + std::to_string(plan.tasks().at(id).slot));
  }
  plan.apply_update(update, [](const Task&) { return std::string(); });
  plan.trim_history(config.task_history_limit,
                    [](const Task& task) { return std::to_string(task.slot); });
  return plan.finish();
}

Decisions reconcile_global(const Service& service, const std::vector<Task>& tasks,
                           const std::vector<Node>& nodes, TimePoint now,
                           const OrchestratorConfig& config, IdGenerator& ids) {
  Plan plan(&service, tasks, now, &ids);
  auto constraints = Constraint::parse_all(service.spec.constraints);
  auto matches = [&](const Node& node) {
    if (!constraints.ok()) {
      return false;
    }
    return std::all_of(constraints->begin(), constraints->end(),
                       [&](const Constraint& c) { return c.matches(node); });
  };
  NodeIndex index;
  for (const auto& node : nodes) {
    index.emplace(node.id, &node);
  }
  const TaskRuntime wanted_runtime = runtime_of(service.spec);
  std::map<std::string, SlotTasks> by_node;
  for (const auto& task : tasks) {
    if (!is_live(task)) {
      if (stopping_for_update(task, wanted_runtime, index)) {
        by_node[task.node_id].stopping = task.id;
      }
      continue;
    }
    auto it = index.find(task.node_id);
    const Node* node = it == index.end() ? nullptr : it->second;
    if (node == nullptr || node->status == NodeStatus::kDown) {
      plan.orphan(task.id, "node " + task.node_id + " is down");
      continue;
    }
    if (node->availability == NodeAvailability::kDrain || !matches(*node)) {
      plan.shut_down(task.id, node->availability == NodeAvailability::kDrain
                                  ? "node " + node->id + " is drained"
                                  : "node " + node->id + " no longer matches the constraints");
      continue;
    }
    if (is_terminal(task.observed)) {
      bool eligible =
          node->status == NodeStatus::kReady && node->availability == NodeAvailability::kActive;
      // On a paused (or not yet ready) node the ended task keeps its place until the node can
      // take new tasks again.
      by_node[node->id].live.push_back(eligible ? plan.restart_if_due(task.id, node->id) : task.id);
      continue;
    }
    by_node[node->id].live.push_back(task.id);
  }
  for (const auto& node : nodes) {
    bool eligible = node.status == NodeStatus::kReady &&
                    node.availability == NodeAvailability::kActive && matches(node);
    if (eligible && !by_node.contains(node.id)) {
      by_node[node.id].live.push_back(plan.create(0, node.id, 0).id);
    }
  }
  // A node whose only task is stopping but that is no longer eligible is not a slot to refill.
  std::erase_if(by_node, [&](const auto& entry) {
    auto it = index.find(entry.first);
    return entry.second.live.empty() && (it == index.end() || !matches(*it->second));
  });
  std::vector<std::string> duplicates;
  auto update = update_slots(
      by_node, plan.tasks(),
      [&](const Task& task) { return task_outdated(task, wanted_runtime, nullptr, nullptr); },
      duplicates);
  for (const auto& id : duplicates) {
    plan.shut_down(id, "duplicate task on node " + plan.tasks().at(id).node_id);
  }
  plan.apply_update(update, [](const Task& task) { return task.node_id; });
  plan.trim_history(config.task_history_limit, [](const Task& task) { return task.node_id; });
  return plan.finish();
}

Decisions reconcile_removed(const std::vector<Task>& tasks, TimePoint now) {
  // No new task is ever created here, so no service and no ID source are needed.
  Plan plan(nullptr, tasks, now, nullptr);
  for (const auto& task : tasks) {
    if (is_live(task)) {
      plan.shut_down(task.id, "service removed");
    }
  }
  plan.trim_history(0, [](const Task& task) { return task.service_id; });
  return plan.finish();
}

}  // namespace shoal::manager
