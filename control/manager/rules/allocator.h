// The allocator as a manager component: it keeps a NetworkAllocator in step with the store.
//
// Reconcile-loop shape: on creation it rebuilds its state from the store's objects (so a manager
// restart loses nothing and never hands out an address twice), then watches commits and notes
// what was removed or finished. Each run_once() releases what those objects held, then, in one
// transaction, allocates networks without a VNI (ingress first, so it gets the pool's first
// subnet), services not yet allocated, and tasks in state NEW, which it moves to PENDING for the
// scheduler. If the transaction fails, its in-memory state is rebuilt from the store, so the two
// never disagree.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "control/manager/rules/network_allocator.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

struct AllocationReport {
  size_t networks = 0;
  size_t nodes = 0;  // given an ingress address
  size_t services = 0;
  size_t tasks = 0;
  std::vector<Error> problems;  // objects left unallocated, and why
};

class Allocator {
 public:
  static Result<std::unique_ptr<Allocator>> create(Store& store, AllocatorConfig config = {});
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  Result<AllocationReport> run_once();

  const NetworkAllocator& state() const { return allocator_; }

 private:
  Allocator(Store& store, NetworkAllocator allocator);
  void note(const std::vector<Event>& events);
  void release_noted();
  Status allocate_all(WriteTx& tx, AllocationReport& report);

  Store& store_;
  NetworkAllocator allocator_;
  Store::WatchId watch_id_ = 0;

  std::mutex noted_mutex_;
  std::vector<std::string> released_tasks_;     // removed or terminal
  std::vector<std::string> released_services_;  // removed
  std::vector<std::string> released_networks_;  // removed
  std::vector<std::string> released_nodes_;     // removed
};

}  // namespace shoal::manager
