#include "control/manager/rules/allocator.h"

#include <algorithm>

namespace shoal::manager {

Result<std::unique_ptr<Allocator>> Allocator::create(Store& store, AllocatorConfig config) {
  SHOAL_ASSIGN_OR_RETURN(auto allocator, NetworkAllocator::create(config));
  Status rebuilt;
  store.view([&](const ReadTx& tx) { rebuilt = allocator.rebuild(tx); });
  SHOAL_TRY(rebuilt);
  return std::unique_ptr<Allocator>(new Allocator(store, std::move(allocator)));
}

Allocator::Allocator(Store& store, NetworkAllocator allocator)
    : store_(store), allocator_(std::move(allocator)) {
  watch_id_ = store_.watch([this](const std::vector<Event>& events) { note(events); });
}

Allocator::~Allocator() {
  store_.unwatch(watch_id_);
}

void Allocator::note(const std::vector<Event>& events) {
  std::lock_guard lock(noted_mutex_);
  for (const auto& event : events) {
    if (const auto* task = std::get_if<Task>(&event.object)) {
      if (event.action == EventAction::kRemove || is_terminal(task->observed)) {
        released_tasks_.push_back(task->id);
      }
    } else if (event.action != EventAction::kRemove) {
      continue;
    } else if (const auto* service = std::get_if<Service>(&event.object)) {
      released_services_.push_back(service->id);
    } else if (const auto* network = std::get_if<Network>(&event.object)) {
      released_networks_.push_back(network->id);
    } else if (const auto* node = std::get_if<Node>(&event.object)) {
      released_nodes_.push_back(node->id);
    }
  }
}

void Allocator::release_noted() {
  std::lock_guard lock(noted_mutex_);
  for (const auto& id : released_tasks_) {
    allocator_.release_task(id);
  }
  for (const auto& id : released_services_) {
    allocator_.release_service(id);
  }
  for (const auto& id : released_networks_) {
    allocator_.release_network(id);
  }
  for (const auto& id : released_nodes_) {
    allocator_.release_node(id);
  }
  released_nodes_.clear();
  released_tasks_.clear();
  released_services_.clear();
  released_networks_.clear();
}

Result<AllocationReport> Allocator::run_once() {
  release_noted();
  AllocationReport report;
  auto status = store_.update([&](WriteTx& tx) { return allocate_all(tx, report); });
  if (!status.ok()) {
    Status rebuilt;
    store_.view([&](const ReadTx& tx) { rebuilt = allocator_.rebuild(tx); });
    SHOAL_TRY(rebuilt);
    return std::move(status).error();
  }
  return report;
}

Status Allocator::allocate_all(WriteTx& tx, AllocationReport& report) {
  // Explicit subnets first: they cannot move, so a pool network allocated in the same pass
  // must see them taken. Then the ingress network, so it gets the pool's first free subnet.
  auto networks = tx.networks();
  auto rank = [](const Network& network) { return network.subnet ? 0 : network.ingress ? 1 : 2; };
  std::stable_sort(networks.begin(), networks.end(),
                   [&](const Network& a, const Network& b) { return rank(a) < rank(b); });
  for (auto& network : networks) {
    if (allocator_.pool(network.id) != nullptr) {
      continue;
    }
    if (auto status = allocator_.allocate_network(network); !status.ok()) {
      report.problems.push_back(std::move(status).error());
      continue;
    }
    SHOAL_TRY(tx.update(network));
    ++report.networks;
  }

  for (auto& node : tx.nodes()) {
    if (node.ingress_addr) {
      continue;
    }
    if (auto status = allocator_.allocate_node(node); !status.ok()) {
      report.problems.push_back(std::move(status).error());
      continue;
    }
    if (node.ingress_addr) {
      SHOAL_TRY(tx.update(node));
      ++report.nodes;
    }
  }

  std::map<std::string, Service> services;
  for (auto& service : tx.services()) {
    if (!service.allocated) {
      if (auto status = allocator_.reallocate_service(service); !status.ok()) {
        report.problems.push_back(std::move(status).error());
        continue;
      }
      SHOAL_TRY(tx.update(service));
      service.version = 0;  // only the spec is used below; the stored version moved on
      ++report.services;
    }
    services.emplace(service.id, std::move(service));
  }

  for (auto& task : tx.tasks()) {
    if (task.observed != TaskState::kNew) {
      continue;
    }
    auto service = services.find(task.service_id);
    if (service == services.end()) {
      continue;  // its service waits for allocation (or is gone)
    }
    if (auto status = allocator_.allocate_task(task, service->second); !status.ok()) {
      report.problems.push_back(std::move(status).error());
      continue;
    }
    SHOAL_TRY(advance(task, TaskState::kPending, "allocated"));
    SHOAL_TRY(tx.update(task));
    ++report.tasks;
  }
  return {};
}

}  // namespace shoal::manager
