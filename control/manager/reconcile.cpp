#include "control/manager/reconcile.h"

#include <algorithm>
#include <map>
#include <set>

#include "control/manager/constraint.h"

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
    const auto& spec = service_->spec;
    task.runtime = TaskRuntime{.command = spec.command,
                               .args = spec.args,
                               .env = spec.env,
                               .stop_grace_period = spec.stop_grace_period};
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
    return decisions;
  }

  // Rolling update, one task at a time and stop-first (Docker's defaults: parallelism 1, order
  // stop-first): while any task of the current spec is still on its way to RUNNING, wait; else
  // replace the first outdated live task (in `live` order) in its slot, on its node for global.
  void update_one_outdated(const std::vector<std::string>& live, bool same_node) {
    const std::string* outdated = nullptr;
    for (const auto& id : live) {
      const Task& task = tasks_.at(id);
      if (is_terminal(task.observed)) {
        continue;
      }
      if (task.spec_version == service_->spec_version) {
        if (task.observed < TaskState::kRunning) {
          return;  // the previous step is not done yet
        }
      } else if (outdated == nullptr) {
        outdated = &id;
      }
    }
    if (outdated == nullptr) {
      return;
    }
    std::string id = *outdated;
    const Task& old = tasks_.at(id);
    uint64_t slot = old.slot;
    std::string node = same_node ? old.node_id : std::string();
    shut_down(id, "updating to spec version " + std::to_string(service_->spec_version));
    create(slot, std::move(node), 0);
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
};

}  // namespace

Decisions reconcile_replicated(const Service& service, const std::vector<Task>& tasks,
                               const NodeIndex& nodes, TimePoint now,
                               const OrchestratorConfig& config, IdGenerator& ids) {
  Plan plan(&service, tasks, now, &ids);
  std::map<uint64_t, std::vector<std::string>> live_by_slot;
  for (const auto& task : tasks) {
    if (!is_live(task)) {
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
        live_by_slot[task.slot].push_back(plan.create(task.slot, {}, task.attempt).id);
        continue;
      }
    }
    if (is_terminal(task.observed)) {
      live_by_slot[task.slot].push_back(plan.restart_if_due(task.id, {}));
      continue;
    }
    live_by_slot[task.slot].push_back(task.id);
  }

  // One live task per slot: a duplicate (two writers raced) goes, the first by id stays.
  for (auto& [slot, ids_in_slot] : live_by_slot) {
    for (size_t i = 1; i < ids_in_slot.size(); ++i) {
      plan.shut_down(ids_in_slot[i], "duplicate task in slot " + std::to_string(slot));
    }
    ids_in_slot.resize(1);
  }
  uint64_t wanted = service.spec.replicas;
  // Scale down: highest slots first.
  while (live_by_slot.size() > wanted) {
    auto highest = std::prev(live_by_slot.end());
    plan.shut_down(highest->second.front(), "scaled down");
    live_by_slot.erase(highest);
  }
  // Scale up: the lowest free slot numbers.
  for (uint64_t slot = 1; live_by_slot.size() < wanted; ++slot) {
    if (!live_by_slot.contains(slot)) {
      live_by_slot[slot].push_back(plan.create(slot, {}, 0).id);
    }
  }
  std::vector<std::string> live;
  for (const auto& [slot, ids_in_slot] : live_by_slot) {
    live.push_back(ids_in_slot.front());
  }
  plan.update_one_outdated(live, false);
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
  std::map<std::string, std::vector<std::string>> live_by_node;
  for (const auto& task : tasks) {
    if (!is_live(task)) {
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
      live_by_node[node->id].push_back(eligible ? plan.restart_if_due(task.id, node->id) : task.id);
      continue;
    }
    live_by_node[node->id].push_back(task.id);
  }
  for (auto& [node_id, ids_on_node] : live_by_node) {
    for (size_t i = 1; i < ids_on_node.size(); ++i) {
      plan.shut_down(ids_on_node[i], "duplicate task on node " + node_id);
    }
  }
  for (const auto& node : nodes) {
    bool eligible = node.status == NodeStatus::kReady &&
                    node.availability == NodeAvailability::kActive && matches(node);
    if (eligible && !live_by_node.contains(node.id)) {
      plan.create(0, node.id, 0);
    }
  }
  std::vector<std::string> live;
  for (const auto& [node_id, ids_on_node] : live_by_node) {
    live.push_back(ids_on_node.front());
  }
  plan.update_one_outdated(live, true);
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
