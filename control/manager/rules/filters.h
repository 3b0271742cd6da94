// The scheduler's filters: small predicates over a node, each able to say why it refused.
//
// A filter is first told which task (and service) is being placed; it returns false from
// set_task() when it has nothing to say about that task (no constraints, no host ports, no
// per-node limit) and is then skipped. check() must be cheap: it runs once per node per service
// and again on a node each time the batch places a task there. explain(n) turns "n nodes failed
// me" into the words of the "no suitable node (...)" message.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "control/manager/rules/constraint.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

// A node with what runs on it, as far as scheduling cares.
struct NodeInfo {
  Node node;
  std::unordered_map<std::string, uint64_t> tasks_by_service;  // tasks not yet terminal
  uint64_t total_tasks = 0;
  std::set<std::pair<Protocol, uint16_t>> host_ports;

  void add_task(const Task& task, const Service* service);
  uint64_t tasks_of(const std::string& service_id) const;
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;
  virtual bool set_task(const Task& task, const Service& service) = 0;
  virtual bool check(const NodeInfo& node) const = 0;
  virtual std::string explain(size_t failures) const = 0;
};

// "1 node" / "3 nodes": the counting phrase every explanation starts with.
std::string count_nodes(size_t n);

class ReadyFilter final : public Filter {
 public:
  std::string_view name() const override { return "ready"; }
  bool set_task(const Task&, const Service&) override { return true; }
  bool check(const NodeInfo& node) const override;
  std::string explain(size_t failures) const override;
};

class AvailabilityFilter final : public Filter {
 public:
  std::string_view name() const override { return "availability"; }
  bool set_task(const Task&, const Service&) override { return true; }
  bool check(const NodeInfo& node) const override;
  std::string explain(size_t failures) const override;
};

// Constraints are validated when a service is created; one that fails to parse here makes every
// node fail, so the task stays pending with the parse error as the reason.
class ConstraintFilter final : public Filter {
 public:
  std::string_view name() const override { return "constraints"; }
  bool set_task(const Task& task, const Service& service) override;
  bool check(const NodeInfo& node) const override;
  std::string explain(size_t failures) const override;

 private:
  std::vector<Constraint> constraints_;
  std::string texts_;
  std::string parse_error_;
};

class HostPortFilter final : public Filter {
 public:
  std::string_view name() const override { return "host ports"; }
  bool set_task(const Task& task, const Service& service) override;
  bool check(const NodeInfo& node) const override;
  std::string explain(size_t failures) const override;

 private:
  std::vector<std::pair<Protocol, uint16_t>> ports_;
};

class MaxReplicasFilter final : public Filter {
 public:
  std::string_view name() const override { return "max replicas"; }
  bool set_task(const Task& task, const Service& service) override;
  bool check(const NodeInfo& node) const override;
  std::string explain(size_t failures) const override;

 private:
  std::string service_id_;
  uint64_t limit_ = 0;
};

// Every filter in order; the first that refuses a node gets the blame for it.
class Pipeline {
 public:
  Pipeline();
  void set_task(const Task& task, const Service& service);
  // The index of the refusing filter, or -1 when the node fits.
  int first_failure(const NodeInfo& node) const;
  bool check(const NodeInfo& node) const { return first_failure(node) < 0; }
  // "no suitable node (1 node not ready; 2 nodes ...)" from failure counts per filter index.
  std::string explain(const std::vector<size_t>& failures) const;
  size_t size() const { return filters_.size(); }

 private:
  std::vector<std::unique_ptr<Filter>> filters_;
  std::vector<Filter*> active_;
  std::vector<int> active_index_;
};

}  // namespace shoal::manager
