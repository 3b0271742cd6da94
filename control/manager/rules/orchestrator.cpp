#include "control/manager/rules/orchestrator.h"

#include <unordered_map>

namespace shoal::manager {

Orchestrator::Orchestrator(Store& store, IdGenerator& ids, OrchestratorConfig config)
    : store_(store), ids_(ids), config_(config) {
  watch_id_ = store_.watch([this](const std::vector<Event>& events) { note(events); });
}

Orchestrator::~Orchestrator() {
  store_.unwatch(watch_id_);
}

void Orchestrator::note(const std::vector<Event>& events) {
  std::lock_guard lock(mutex_);
  for (const auto& event : events) {
    if (const auto* task = std::get_if<Task>(&event.object)) {
      dirty_.insert(task->service_id);
    } else if (const auto* service = std::get_if<Service>(&event.object)) {
      dirty_.insert(service->id);
    } else if (std::holds_alternative<Node>(event.object)) {
      all_dirty_ = true;
    }
  }
}

Result<OrchestratorReport> Orchestrator::run_once(TimePoint now) {
  bool all = false;
  std::set<std::string> dirty;
  {
    std::lock_guard lock(mutex_);
    all = all_dirty_;
    dirty.swap(dirty_);
    all_dirty_ = false;
    for (auto it = wake_.begin(); it != wake_.end();) {
      if (it->second <= now) {
        dirty.insert(it->first);
        it = wake_.erase(it);
      } else {
        ++it;
      }
    }
  }
  OrchestratorReport report;
  std::map<std::string, TimePoint> wake;
  auto status = store_.update([&](WriteTx& tx) -> Status {
    auto nodes = tx.nodes();
    NodeIndex node_index;
    for (const auto& node : nodes) {
      node_index.emplace(node.id, &node);
    }
    std::unordered_map<std::string, std::vector<Task>> tasks_by_service;
    for (auto& task : tx.tasks()) {
      if (all || dirty.contains(task.service_id)) {
        tasks_by_service[task.service_id].push_back(std::move(task));
      }
    }
    std::map<std::string, Service> services;
    for (auto& service : tx.services()) {
      if (all || dirty.contains(service.id)) {
        services.emplace(service.id, std::move(service));
      }
    }
    auto apply = [&](Decisions decisions) -> Status {
      for (auto& task : decisions.create) {
        SHOAL_TRY(tx.create(std::move(task)));
        ++report.created;
      }
      for (auto& task : decisions.update) {
        SHOAL_TRY(tx.update(std::move(task)));
        ++report.updated;
      }
      for (const auto& id : decisions.remove) {
        SHOAL_TRY(tx.remove_task(id));
        ++report.removed;
      }
      if (decisions.service) {
        SHOAL_TRY(tx.update(std::move(*decisions.service)));
      }
      return {};
    };
    for (auto& [service_id, tasks] : tasks_by_service) {
      if (!services.contains(service_id)) {
        SHOAL_TRY(apply(reconcile_removed(tasks, now)));
      }
    }
    for (const auto& [id, service] : services) {
      const auto& tasks = tasks_by_service[id];
      auto decisions = service.spec.global
                           ? reconcile_global(service, tasks, nodes, now, config_, ids_)
                           : reconcile_replicated(service, tasks, node_index, now, config_, ids_);
      if (decisions.wake_at) {
        wake[id] = *decisions.wake_at;
        if (!report.wake_at || *decisions.wake_at < *report.wake_at) {
          report.wake_at = decisions.wake_at;
        }
      }
      SHOAL_TRY(apply(std::move(decisions)));
    }
    return {};
  });
  std::lock_guard lock(mutex_);
  if (!status.ok()) {
    // Nothing was written: look at the same services again next time.
    all_dirty_ = all_dirty_ || all;
    dirty_.insert(dirty.begin(), dirty.end());
    return std::move(status).error();
  }
  for (const auto& [id, when] : wake) {
    wake_[id] = when;
  }
  return report;
}

}  // namespace shoal::manager
