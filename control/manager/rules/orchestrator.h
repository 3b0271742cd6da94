// The orchestrator as a manager component: it keeps each service's tasks matching its spec.
//
// Reconcile-loop shape: it watches the store and marks services dirty (a service or one of its
// tasks changed: that service; a node changed: every service, since drain, down and global
// eligibility are about nodes). run_once() takes the dirty set, plus services whose delayed
// restart has come due, reads the store once, asks the pure functions of reconcile.h what to do
// for each, and writes every decision in one transaction. The first run reconciles everything,
// which is also how a restarted manager catches up.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "control/manager/rules/reconcile.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

struct OrchestratorReport {
  size_t created = 0;
  size_t updated = 0;
  size_t removed = 0;
  std::optional<TimePoint> wake_at;  // run again then, for a delayed restart
};

class Orchestrator {
 public:
  Orchestrator(Store& store, IdGenerator& ids, OrchestratorConfig config = {});
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  Result<OrchestratorReport> run_once(TimePoint now = Clock::now());

 private:
  void note(const std::vector<Event>& events);

  Store& store_;
  IdGenerator& ids_;
  OrchestratorConfig config_;
  Store::WatchId watch_id_ = 0;

  std::mutex mutex_;
  bool all_dirty_ = true;
  std::set<std::string> dirty_;
  std::map<std::string, TimePoint> wake_;  // by service id
};

}  // namespace shoal::manager
