#include "control/manager/loop/manager_runtime.h"

#include <spdlog/spdlog.h>

#include "control/manager/store/memory_store.h"
#include "control/manager/store/sqlite_store.h"

namespace shoal::manager {

using namespace std::chrono_literals;
using manager::NodeStatus;

Result<std::unique_ptr<ManagerRuntime>> ManagerRuntime::start(ManagerOptions options) {
  std::unique_ptr<manager::Store> store;
  if (options.store_path.empty()) {
    store = std::make_unique<manager::MemoryStore>();
  } else {
    SHOAL_ASSIGN_OR_RETURN(store, manager::SqliteStore::open(options.store_path));
  }
  return start(std::move(options), std::move(store));
}

Result<std::unique_ptr<ManagerRuntime>> ManagerRuntime::start(
    ManagerOptions options, std::unique_ptr<manager::Store> store) {
  auto runtime = std::make_unique<ManagerRuntime>(Key{}, std::move(options), std::move(store));
  SHOAL_TRY(runtime->build_components());
  runtime->thread_ = std::thread([r = runtime.get()] { r->loop(); });
  return runtime;
}

ManagerRuntime::ManagerRuntime(Key, ManagerOptions options, std::unique_ptr<manager::Store> store)
    : options_(std::move(options)), store_(std::move(store)) {}

Status ManagerRuntime::build_components() {
  SHOAL_ASSIGN_OR_RETURN(allocator_, manager::Allocator::create(*store_, options_.allocator));
  scheduler_ = std::make_unique<manager::Scheduler>(*store_);
  orchestrator_ = std::make_unique<manager::Orchestrator>(*store_, loop_ids_);
  watch_id_ = store_->watch([this](const std::vector<manager::Event>&) { wake(); });
  return {};
}

ManagerRuntime::~ManagerRuntime() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  store_->unwatch(watch_id_);
}

void ManagerRuntime::wake() {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
  }
  cv_.notify_all();
}

void ManagerRuntime::node_seen(const std::string& node_id) {
  std::lock_guard lock(mutex_);
  last_seen_[node_id] = std::chrono::steady_clock::now();
}

void ManagerRuntime::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto deadline = std::chrono::steady_clock::now() + 1s;  // heartbeat checks
    if (wake_at_) {
      auto until = *wake_at_ - manager::Clock::now();
      deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::max(until, manager::Clock::duration::zero())));
    }
    cv_.wait_until(lock, deadline, [this] { return stopping_ || dirty_; });
    if (stopping_) {
      break;
    }
    bool due = wake_at_ && *wake_at_ <= manager::Clock::now();
    if (dirty_ || due) {
      lock.unlock();
      std::this_thread::sleep_for(options_.debounce);  // a burst of reports becomes one pass
      lock.lock();
      dirty_ = false;
      lock.unlock();
      run_passes();
      lock.lock();
    }
    lock.unlock();
    mark_silent_nodes_down();
    lock.lock();
  }
}

void ManagerRuntime::run_passes() {
  // Each pass can give the next one work (the orchestrator's new tasks need addresses, then a
  // node); a handful of passes always settles, and anything left wakes the loop again.
  for (int pass = 0; pass < 4; ++pass) {
    size_t work = 0;
    auto allocated = allocator_->run_once();
    if (!allocated.ok()) {
      spdlog::warn("allocator: {}", allocated.error().message());
    } else {
      work += allocated->networks + allocated->nodes + allocated->services + allocated->tasks;
      for (const auto& problem : allocated->problems) {
        spdlog::debug("allocator: {}", problem.message());
      }
    }
    auto scheduled = scheduler_->run_once();
    if (!scheduled.ok()) {
      spdlog::warn("scheduler: {}", scheduled.error().message());
    } else {
      work += scheduled->assigned;
    }
    auto orchestrated = orchestrator_->run_once();
    if (!orchestrated.ok()) {
      spdlog::warn("orchestrator: {}", orchestrated.error().message());
    } else {
      work += orchestrated->created + orchestrated->updated + orchestrated->removed;
      std::lock_guard lock(mutex_);
      wake_at_ = orchestrated->wake_at;
    }
    if (work == 0) {
      break;
    }
  }
}

void ManagerRuntime::mark_silent_nodes_down() {
  auto now = std::chrono::steady_clock::now();
  auto limit = 3 * options_.heartbeat_period;  // Docker: DOWN after three missed periods
  std::map<std::string, std::chrono::steady_clock::time_point> seen;
  {
    std::lock_guard lock(mutex_);
    seen = last_seen_;
  }
  std::vector<manager::Node> silent;
  store_->view([&](const manager::ReadTx& tx) {
    for (auto& node : tx.nodes()) {
      if (node.status != NodeStatus::kReady) {
        continue;
      }
      // A node never heard by this manager (a manager restart) gets the full grace period.
      auto last = seen.contains(node.id) ? seen[node.id] : started_;
      if (now - last > limit) {
        silent.push_back(std::move(node));
      }
    }
  });
  if (silent.empty()) {
    return;
  }
  auto written = store_->update([&](manager::WriteTx& tx) -> Status {
    for (auto& node : silent) {
      spdlog::info("node {} ({}) missed its heartbeats: down", node.id, node.hostname);
      node.status = NodeStatus::kDown;
      SHOAL_TRY(tx.update(node));
    }
    return {};
  });
  if (!written.ok()) {
    spdlog::warn("marking nodes down: {}", written.error().message());
  }
}

}  // namespace shoal::manager
