// The scheduler: places PENDING tasks on nodes and moves them to ASSIGNED.
//
// Placement runs each service's pending tasks as one batch. The filter pipeline is prepared once
// for the service and run over every node once; the nodes that pass go into a min-heap ordered by
// spread: fewest tasks of this service, then fewest tasks overall, then node order. Each task
// takes the heap's top; that node's counts grow and it is checked again (a per-node limit or a
// host port may now refuse it) before going back in. So a batch of T tasks over N nodes costs
// O(N + T log N) per service instead of O(T x N). When the heap runs dry, the remaining tasks
// stay PENDING with "no suitable node (...)", counting the nodes each filter refused.
//
// A task that already names a node (a global service's task) is only checked against that node.
// place_tasks() is pure; Scheduler::run_once() reads the store, places, and writes every decision
// in one transaction. It watches the store and does nothing until something that can change a
// placement has happened (a task became PENDING or ended, a node or service changed), so the
// stream of agents' state reports (ASSIGNED...RUNNING) costs it nothing.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/manager/rules/filters.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

struct Placement {
  std::string task_id;
  std::string node_id;  // empty: no suitable node, see message
  std::string message;
};

// Places `pending` on `nodes` (updating their counts as it goes).
std::vector<Placement> place_tasks(std::vector<NodeInfo>& nodes,
                                   const std::vector<const Task*>& pending,
                                   const std::unordered_map<std::string, const Service*>& services);

// Builds the scheduler's view of the nodes: every node with the tasks that occupy it (assigned
// or later and not terminal).
std::vector<NodeInfo> node_infos(const std::vector<Node>& nodes, const std::vector<Task>& tasks,
                                 const std::unordered_map<std::string, const Service*>& services);

struct ScheduleReport {
  size_t assigned = 0;
  size_t unschedulable = 0;
};

class Scheduler {
 public:
  explicit Scheduler(Store& store);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  Result<ScheduleReport> run_once();
  bool has_work() const;

 private:
  void note(const std::vector<Event>& events);

  Store& store_;
  Store::WatchId watch_id_ = 0;
  mutable std::mutex mutex_;
  bool dirty_ = true;
};

}  // namespace shoal::manager
