// The manager's engine: the store and the reconcile loops (allocator, scheduler, orchestrator)
// on one thread, plus the heartbeat clock that declares silent nodes down.
//
// The loop sleeps until the store changes (or a delayed restart or a heartbeat deadline comes
// due), waits a short debounce so a burst of agent reports becomes one pass, then runs the
// components in dependency order until none of them has anything left to do. Each component
// writes its decisions in one transaction, so the store never shows half a decision.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "control/manager/rules/allocator.h"
#include "control/manager/rules/ids.h"
#include "control/manager/rules/orchestrator.h"
#include "control/manager/rules/scheduler.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

struct ManagerOptions {
  std::string store_path;  // SQLite file; empty: in memory (tests)
  manager::AllocatorConfig allocator;
  std::chrono::milliseconds heartbeat_period{5000};
  std::chrono::milliseconds debounce{20};
};

// IdGenerator is not thread-safe; the gRPC handlers and the loop share one through this.
class SharedIds {
 public:
  std::string next() {
    std::lock_guard lock(mutex_);
    return ids_.next();
  }

 private:
  std::mutex mutex_;
  manager::IdGenerator ids_;
};

class ManagerRuntime {
 public:
  static Result<std::unique_ptr<ManagerRuntime>> start(ManagerOptions options);
  // On a store opened by the caller (the etcd store of several managers); store_path is unused.
  static Result<std::unique_ptr<ManagerRuntime>> start(ManagerOptions options,
                                                       std::unique_ptr<manager::Store> store);
  ~ManagerRuntime();
  ManagerRuntime(const ManagerRuntime&) = delete;
  ManagerRuntime& operator=(const ManagerRuntime&) = delete;

  manager::Store& store() { return *store_; }
  SharedIds& ids() { return ids_; }
  const ManagerOptions& options() const { return options_; }

  // A node's agent was heard from (session start or heartbeat).
  void node_seen(const std::string& node_id);

  // Serialises the control API's check-then-write sequences (a name or subnet that must be
  // free), which a store transaction alone cannot express across reads of other objects.
  std::mutex& control_mutex() { return control_mutex_; }

  struct Key {  // only start() builds one, so every runtime is started
   private:
    friend class ManagerRuntime;
    Key() = default;
  };
  ManagerRuntime(Key, ManagerOptions options, std::unique_ptr<manager::Store> store);

 private:
  Status build_components();
  void loop();
  void run_passes();
  void mark_silent_nodes_down();
  void wake();

  ManagerOptions options_;
  std::unique_ptr<manager::Store> store_;
  SharedIds ids_;
  manager::IdGenerator loop_ids_;  // the orchestrator's own, used only on the loop thread
  std::unique_ptr<manager::Allocator> allocator_;
  std::unique_ptr<manager::Scheduler> scheduler_;
  std::unique_ptr<manager::Orchestrator> orchestrator_;
  manager::Store::WatchId watch_id_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool dirty_ = true;
  bool stopping_ = false;
  std::optional<manager::TimePoint> wake_at_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_seen_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::mutex control_mutex_;
  std::thread thread_;
};

}  // namespace shoal::manager
