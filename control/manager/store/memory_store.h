// The in-memory store: ordered maps of objects under one reader/writer lock.
//
// A write transaction stages its changes beside the committed tables (reads inside it see the
// staged values first), so abandoning it costs nothing and committing applies every staged change
// at once. Subclasses may persist each commit (persist() runs before the tables change, and an
// error from it aborts the commit), which is how the SQLite store reuses all of this logic.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "control/manager/store/store.h"

namespace shoal::manager {

class MemoryStore : public Store {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  void view(const std::function<void(const ReadTx&)>& reader) const override;
  Status update(const std::function<Status(WriteTx&)>& writer) override;
  WatchId watch(Watcher watcher) override;
  void unwatch(WatchId id) override;

  uint64_t index() const;

 protected:
  // Makes a commit durable before it becomes visible; the default keeps nothing.
  virtual Status persist(const std::vector<Event>& events, uint64_t index);
  // Fills the tables from persisted objects (no events, no persist).
  void load(std::vector<Object> objects, uint64_t index);

 public:
  struct Tables {
    std::map<std::string, Node> nodes;
    std::map<std::string, Network> networks;
    std::map<std::string, Service> services;
    std::map<std::string, Task> tasks;
    std::map<std::string, Config> configs;
  };

 private:
  void deliver(std::vector<Event> events);

  mutable std::shared_mutex mutex_;
  Tables tables_;
  uint64_t index_ = 0;

  // Events wait here between commit and delivery, so watchers see commits in commit order even
  // when several threads write.
  std::mutex delivery_mutex_;
  std::mutex queue_mutex_;
  std::deque<std::vector<Event>> queue_;
  std::map<WatchId, Watcher> watchers_;  // guarded by queue_mutex_
  WatchId next_watch_id_ = 1;
};

}  // namespace shoal::manager
