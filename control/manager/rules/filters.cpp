#include "control/manager/rules/filters.h"

namespace shoal::manager {

void NodeInfo::add_task(const Task& task, const Service* service) {
  ++tasks_by_service[task.service_id];
  ++total_tasks;
  if (service == nullptr) {
    return;
  }
  for (const auto& port :
       service->endpoint.ports.empty() ? service->spec.ports : service->endpoint.ports) {
    if (port.mode == PublishMode::kHost && port.published != 0) {
      host_ports.emplace(port.protocol, port.published);
    }
  }
}

uint64_t NodeInfo::tasks_of(const std::string& service_id) const {
  auto it = tasks_by_service.find(service_id);
  return it == tasks_by_service.end() ? 0 : it->second;
}

std::string count_nodes(size_t n) {
  return std::to_string(n) + (n == 1 ? " node" : " nodes");
}

bool ReadyFilter::check(const NodeInfo& node) const {
  return node.node.status == NodeStatus::kReady;
}

std::string ReadyFilter::explain(size_t failures) const {
  return count_nodes(failures) + " not ready";
}

bool AvailabilityFilter::check(const NodeInfo& node) const {
  return node.node.availability == NodeAvailability::kActive;
}

std::string AvailabilityFilter::explain(size_t failures) const {
  return count_nodes(failures) + " not available for new tasks (paused or drained)";
}

bool ConstraintFilter::set_task(const Task&, const Service& service) {
  constraints_.clear();
  texts_.clear();
  parse_error_.clear();
  if (service.spec.constraints.empty()) {
    return false;
  }
  for (const auto& text : service.spec.constraints) {
    texts_ += (texts_.empty() ? "" : ", ") + text;
  }
  auto parsed = Constraint::parse_all(service.spec.constraints);
  if (parsed.ok()) {
    constraints_ = std::move(parsed).value();
  } else {
    parse_error_ = parsed.error().message();
  }
  return true;
}

bool ConstraintFilter::check(const NodeInfo& node) const {
  if (!parse_error_.empty()) {
    return false;
  }
  for (const auto& constraint : constraints_) {
    if (!constraint.matches(node.node)) {
      return false;
    }
  }
  return true;
}

std::string ConstraintFilter::explain(size_t failures) const {
  if (!parse_error_.empty()) {
    return parse_error_;
  }
  return "scheduling constraints (" + texts_ + ") not satisfied on " + count_nodes(failures);
}

bool HostPortFilter::set_task(const Task&, const Service& service) {
  ports_.clear();
  for (const auto& port : service.spec.ports) {
    if (port.mode == PublishMode::kHost && port.published != 0) {
      ports_.emplace_back(port.protocol, port.published);
    }
  }
  return !ports_.empty();
}

bool HostPortFilter::check(const NodeInfo& node) const {
  for (const auto& port : ports_) {
    if (node.host_ports.contains(port)) {
      return false;
    }
  }
  return true;
}

std::string HostPortFilter::explain(size_t failures) const {
  std::string ports;
  for (const auto& [protocol, port] : ports_) {
    ports +=
        (ports.empty() ? "" : ", ") + std::to_string(port) + "/" + std::string(to_string(protocol));
  }
  return "host-mode port " + ports + " already in use on " + count_nodes(failures);
}

bool MaxReplicasFilter::set_task(const Task& task, const Service& service) {
  service_id_ = task.service_id;
  limit_ = service.spec.max_replicas_per_node;
  return limit_ != 0;
}

bool MaxReplicasFilter::check(const NodeInfo& node) const {
  return node.tasks_of(service_id_) < limit_;
}

std::string MaxReplicasFilter::explain(size_t failures) const {
  return "max replicas per node (" + std::to_string(limit_) + ") reached on " +
         count_nodes(failures);
}

Pipeline::Pipeline() {
  filters_.push_back(std::make_unique<ReadyFilter>());
  filters_.push_back(std::make_unique<AvailabilityFilter>());
  filters_.push_back(std::make_unique<ConstraintFilter>());
  filters_.push_back(std::make_unique<HostPortFilter>());
  filters_.push_back(std::make_unique<MaxReplicasFilter>());
}

void Pipeline::set_task(const Task& task, const Service& service) {
  active_.clear();
  active_index_.clear();
  for (size_t i = 0; i < filters_.size(); ++i) {
    if (filters_[i]->set_task(task, service)) {
      active_.push_back(filters_[i].get());
      active_index_.push_back(static_cast<int>(i));
    }
  }
}

int Pipeline::first_failure(const NodeInfo& node) const {
  for (size_t i = 0; i < active_.size(); ++i) {
    if (!active_[i]->check(node)) {
      return active_index_[i];
    }
  }
  return -1;
}

std::string Pipeline::explain(const std::vector<size_t>& failures) const {
  std::string reasons;
  for (size_t i = 0; i < failures.size() && i < filters_.size(); ++i) {
    if (failures[i] > 0) {
      reasons += (reasons.empty() ? "" : "; ") + filters_[i]->explain(failures[i]);
    }
  }
  if (reasons.empty()) {
    reasons = "no nodes in the swarm";
  }
  return "no suitable node (" + reasons + ")";
}

}  // namespace shoal::manager
