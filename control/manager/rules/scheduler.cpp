#include "control/manager/rules/scheduler.h"

#include <algorithm>
#include <map>
#include <queue>
#include <tuple>

#include "control/manager/rules/validation.h"

namespace shoal::manager {

namespace {

// Spread order: (tasks of this service, tasks overall, node index); smallest first.
using HeapEntry = std::tuple<uint64_t, uint64_t, size_t>;
using SpreadHeap = std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>>;

HeapEntry entry(const NodeInfo& node, const std::string& service_id, size_t index) {
  return {node.tasks_of(service_id), node.total_tasks, index};
}

void place_group(std::vector<NodeInfo>& nodes, const std::vector<const Task*>& group,
                 const Service& service, Pipeline& pipeline, std::vector<Placement>& out) {
  pipeline.set_task(*group.front(), service);
  std::vector<size_t> failures(pipeline.size(), 0);
  std::vector<HeapEntry> eligible;
  for (size_t i = 0; i < nodes.size(); ++i) {
    int failed = pipeline.first_failure(nodes[i]);
    if (failed < 0) {
      eligible.push_back(entry(nodes[i], service.id, i));
    } else {
      ++failures[failed];
    }
  }
  SpreadHeap heap(std::greater<>(), std::move(eligible));
  for (const Task* task : group) {
    if (heap.empty()) {
      out.push_back(
          Placement{.task_id = task->id, .node_id = {}, .message = pipeline.explain(failures)});
      continue;
    }
    size_t index = std::get<2>(heap.top());
    heap.pop();
    auto& node = nodes[index];
    node.add_task(*task, &service);
    out.push_back(Placement{.task_id = task->id, .node_id = node.node.id, .message = {}});
    int failed = pipeline.first_failure(node);
    if (failed < 0) {
      heap.push(entry(node, service.id, index));
    } else {
      ++failures[failed];
    }
  }
}

// Placement preferences (swarmkit's spread): nodes are grouped by the value of each preference's
// label (a node without the label is in the "" group), outermost first; each task goes to the
// group, then subgroup, holding the fewest tasks of the service, then by the usual spread order.
// Only nodes that pass the filters form the groups, as in swarmkit's tree. O(T x N x levels).
void place_spread(std::vector<NodeInfo>& nodes, const std::vector<const Task*>& group,
                  const Service& service, const std::vector<std::string>& labels,
                  Pipeline& pipeline, std::vector<Placement>& out) {
  pipeline.set_task(*group.front(), service);
  std::vector<size_t> failures(pipeline.size(), 0);
  std::vector<size_t> eligible;
  for (size_t i = 0; i < nodes.size(); ++i) {
    int failed = pipeline.first_failure(nodes[i]);
    if (failed < 0) {
      eligible.push_back(i);
    } else {
      ++failures[failed];
    }
  }
  // paths[i][l]: node i's label values of levels 0..l, the key of its group at level l.
  std::map<std::vector<std::string>, uint64_t> counts;
  auto paths = [&](const NodeInfo& node) {
    std::vector<std::vector<std::string>> out_paths;
    std::vector<std::string> path;
    for (const auto& label : labels) {
      auto it = node.node.labels.find(label);
      path.push_back(it == node.node.labels.end() ? std::string() : it->second);
      out_paths.push_back(path);
    }
    return out_paths;
  };
  for (size_t i : eligible) {
    for (const auto& path : paths(nodes[i])) {
      counts[path] += nodes[i].tasks_of(service.id);
    }
  }
  auto rank = [&](size_t i) {
    std::vector<uint64_t> key;
    for (const auto& path : paths(nodes[i])) {
      key.push_back(counts[path]);
    }
    key.push_back(nodes[i].tasks_of(service.id));
    key.push_back(nodes[i].total_tasks);
    key.push_back(i);
    return key;
  };
  for (const Task* task : group) {
    if (eligible.empty()) {
      out.push_back(
          Placement{.task_id = task->id, .node_id = {}, .message = pipeline.explain(failures)});
      continue;
    }
    auto best = std::min_element(eligible.begin(), eligible.end(),
                                 [&](size_t a, size_t b) { return rank(a) < rank(b); });
    auto& node = nodes[*best];
    node.add_task(*task, &service);
    for (const auto& path : paths(node)) {
      ++counts[path];
    }
    out.push_back(Placement{.task_id = task->id, .node_id = node.node.id, .message = {}});
    int failed = pipeline.first_failure(node);
    if (failed >= 0) {
      ++failures[failed];
      eligible.erase(best);
    }
  }
}

void place_on_named_node(std::vector<NodeInfo>& nodes,
                         const std::unordered_map<std::string, size_t>& index_by_id,
                         const Task& task, const Service& service, Pipeline& pipeline,
                         std::vector<Placement>& out) {
  auto it = index_by_id.find(task.node_id);
  if (it == index_by_id.end()) {
    out.push_back(Placement{.task_id = task.id,
                            .node_id = {},
                            .message = "no suitable node (node " + task.node_id + " not found)"});
    return;
  }
  auto& node = nodes[it->second];
  pipeline.set_task(task, service);
  int failed = pipeline.first_failure(node);
  if (failed >= 0) {
    std::vector<size_t> failures(pipeline.size(), 0);
    failures[failed] = 1;
    out.push_back(
        Placement{.task_id = task.id, .node_id = {}, .message = pipeline.explain(failures)});
    return;
  }
  node.add_task(task, &service);
  out.push_back(Placement{.task_id = task.id, .node_id = node.node.id, .message = {}});
}

}  // namespace

std::vector<Placement> place_tasks(
    std::vector<NodeInfo>& nodes, const std::vector<const Task*>& pending,
    const std::unordered_map<std::string, const Service*>& services) {
  std::vector<Placement> out;
  out.reserve(pending.size());
  std::unordered_map<std::string, size_t> index_by_id;
  for (size_t i = 0; i < nodes.size(); ++i) {
    index_by_id.emplace(nodes[i].node.id, i);
  }
  // Groups by service, in order of first appearance so the result is deterministic.
  std::vector<std::string> order;
  std::unordered_map<std::string, std::vector<const Task*>> groups;
  std::vector<const Task*> named;
  for (const Task* task : pending) {
    if (!task->node_id.empty()) {
      named.push_back(task);
      continue;
    }
    auto [it, inserted] = groups.try_emplace(task->service_id);
    if (inserted) {
      order.push_back(task->service_id);
    }
    it->second.push_back(task);
  }
  Pipeline pipeline;
  for (const auto& service_id : order) {
    auto service = services.find(service_id);
    if (service == services.end()) {
      for (const Task* task : groups[service_id]) {
        out.push_back(Placement{
            .task_id = task->id, .node_id = {}, .message = "service " + service_id + " not found"});
      }
      continue;
    }
    std::vector<std::string> labels;
    for (const auto& preference : service->second->spec.placement_prefs) {
      if (auto label = spread_label(preference); label.ok()) {
        labels.push_back(*label);  // validated on create; a bad one is only skipped here
      }
    }
    if (labels.empty()) {
      place_group(nodes, groups[service_id], *service->second, pipeline, out);
    } else {
      place_spread(nodes, groups[service_id], *service->second, labels, pipeline, out);
    }
  }
  for (const Task* task : named) {
    auto service = services.find(task->service_id);
    if (service == services.end()) {
      out.push_back(Placement{.task_id = task->id,
                              .node_id = {},
                              .message = "service " + task->service_id + " not found"});
      continue;
    }
    place_on_named_node(nodes, index_by_id, *task, *service->second, pipeline, out);
  }
  return out;
}

std::vector<NodeInfo> node_infos(const std::vector<Node>& nodes, const std::vector<Task>& tasks,
                                 const std::unordered_map<std::string, const Service*>& services) {
  std::vector<NodeInfo> infos;
  infos.reserve(nodes.size());
  std::unordered_map<std::string, size_t> index_by_id;
  for (const auto& node : nodes) {
    index_by_id.emplace(node.id, infos.size());
    infos.push_back(
        NodeInfo{.node = node, .tasks_by_service = {}, .total_tasks = 0, .host_ports = {}});
  }
  for (const auto& task : tasks) {
    if (task.node_id.empty() || task.observed < TaskState::kAssigned ||
        is_terminal(task.observed)) {
      continue;
    }
    auto it = index_by_id.find(task.node_id);
    if (it == index_by_id.end()) {
      continue;
    }
    auto service = services.find(task.service_id);
    infos[it->second].add_task(task, service == services.end() ? nullptr : service->second);
  }
  return infos;
}

Scheduler::Scheduler(Store& store) : store_(store) {
  watch_id_ = store_.watch([this](const std::vector<Event>& events) { note(events); });
}

Scheduler::~Scheduler() {
  store_.unwatch(watch_id_);
}

void Scheduler::note(const std::vector<Event>& events) {
  for (const auto& event : events) {
    const auto* task = std::get_if<Task>(&event.object);
    bool matters = task == nullptr
                       ? !std::holds_alternative<Network>(event.object)
                       : event.action == EventAction::kRemove ||
                             task->observed == TaskState::kPending || is_terminal(task->observed);
    if (matters) {
      std::lock_guard lock(mutex_);
      dirty_ = true;
      return;
    }
  }
}

bool Scheduler::has_work() const {
  std::lock_guard lock(mutex_);
  return dirty_;
}

Result<ScheduleReport> Scheduler::run_once() {
  ScheduleReport report;
  {
    std::lock_guard lock(mutex_);
    if (!dirty_) {
      return report;
    }
    dirty_ = false;
  }
  auto status = store_.update([&](WriteTx& tx) -> Status {
    auto tasks = tx.tasks();
    auto service_list = tx.services();
    std::unordered_map<std::string, const Service*> services;
    for (const auto& service : service_list) {
      services.emplace(service.id, &service);
    }
    std::unordered_map<std::string, size_t> task_index;
    std::vector<const Task*> pending;
    for (size_t i = 0; i < tasks.size(); ++i) {
      const auto& task = tasks[i];
      if (task.observed == TaskState::kPending && task.desired <= TaskState::kRunning) {
        pending.push_back(&task);
        task_index.emplace(task.id, i);
      }
    }
    if (pending.empty()) {
      return {};
    }
    auto nodes = node_infos(tx.nodes(), tasks, services);
    for (const auto& placement : place_tasks(nodes, pending, services)) {
      auto& task = tasks[task_index.at(placement.task_id)];
      if (placement.node_id.empty()) {
        ++report.unschedulable;
        if (task.message == placement.message) {
          continue;  // already says so; no write
        }
        task.message = placement.message;
      } else {
        task.node_id = placement.node_id;
        SHOAL_TRY(advance(task, TaskState::kAssigned, "scheduled"));
        ++report.assigned;
      }
      SHOAL_TRY(tx.update(task));
    }
    return {};
  });
  if (!status.ok()) {
    std::lock_guard lock(mutex_);
    dirty_ = true;  // nothing was written: try again next time
    return std::move(status).error();
  }
  return report;
}

}  // namespace shoal::manager
