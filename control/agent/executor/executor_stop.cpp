// The executor's stopping path: a task no longer wanted is stopped on a thread of its own, an
// exited one is reported, and either way it is torn down; finished tasks are forgotten after a
// while, networks no task uses are removed, and leave() stops everything.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "common/mounts.h"
#include "control/agent/executor/executor.h"

namespace shoal::agent {

using namespace std::chrono_literals;
using manager::TaskState;

namespace {

constexpr size_t kFinishedKept = 32;  // exited tasks whose output stays for `service logs`

}  // namespace

void Executor::spawn_stopper(const std::string& id, std::chrono::milliseconds grace,
                             std::chrono::milliseconds drain) {
  std::erase_if(stoppers_, [](Stopper& stopper) {
    if (!*stopper.done)
      return false;
    stopper.thread.join();
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  // stop_task takes mutex_, which the caller holds: the thread waits for it, as it should.
  stoppers_.push_back({std::thread([this, id, grace, drain, done] {
                         std::this_thread::sleep_for(drain);
                         stop_task(id, grace, true);
                         *done = true;
                       }),
                       done});
}

void Executor::stop_task(const std::string& id, std::chrono::milliseconds grace, bool announce) {
  if (auto stopped = controller_.stop(id, grace); !stopped.ok())
    spdlog::warn("stop task {}: {}", id, stopped.error().message());
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end())
    return;
  teardown(id, it->second);
  if (announce)
    report(id, it->second, TaskState::kShutdown, "shut down");
  finished_.push_back(id);
  changed_ = true;
  cv_.notify_all();
}

void Executor::reap_exits() {
  for (const auto& status : runtime_->list()) {
    auto it = records_.find(status.id);
    if (status.phase != runtime::TaskPhase::kExited || it == records_.end() ||
        it->second.stopping || manager::is_terminal(it->second.reported)) {
      continue;
    }
    teardown(status.id, it->second);
    finished_.push_back(status.id);
    auto exit = exit_report(status);
    report(status.id, it->second, exit.state, exit.message, exit.exit_code);
  }
}

void Executor::teardown(const std::string& id, TaskRecord& record) {
  if (record.torn_down)
    return;
  controller_.teardown(id, record);
  (void)files_.save(id, record);
}

void Executor::forget_finished() {
  // Tasks the manager no longer lists and that no longer run are forgotten here...
  for (auto it = records_.begin(); it != records_.end();) {
    const auto& [id, record] = *it;
    if (!assigned_.contains(id) && manager::is_terminal(record.reported) && record.torn_down) {
      files_.remove(id);
      it = records_.erase(it);
    } else {
      ++it;
    }
  }
  // ...but their output stays for `service logs` until newer tasks push it out.
  while (finished_.size() > kFinishedKept) {
    auto id = finished_.front();
    finished_.pop_front();
    if (!records_.contains(id))
      (void)runtime_->remove(id);
  }
  // Networks no live task uses go away on this node.
  networks_.prune(records_, node_ingress_attached_
                                ? std::optional(node_ingress_attached_->network_id)
                                : std::nullopt);
}

Status Executor::leave() {
  std::vector<std::pair<std::string, std::chrono::milliseconds>> running;
  {
    std::lock_guard lock(mutex_);
    assigned_.clear();
    for (auto& [id, record] : records_) {
      if (!record.stopping && !record.torn_down) {
        record.stopping = true;
        running.emplace_back(id, 10s);
      }
    }
  }
  for (const auto& [id, grace] : running)
    stop_task(id, grace, false);
  // A stopped task's shim lingers a moment to record the exit: remove() waits for it.
  for (const auto& status : runtime_->list()) {
    Status removed;
    for (int attempt = 0; attempt < 40; ++attempt) {
      removed = runtime_->remove(status.id);
      if (removed.ok() || removed.error().errnum != EBUSY) {
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (!removed.ok()) {
      spdlog::warn("leave: {}", removed.error().message());
    }
  }
  std::lock_guard lock(mutex_);
  auto removed = networks_.remove_all();
  if (auto uninstalled = plane_.uninstall(); !uninstalled.ok()) {
    spdlog::warn("service plane: {}", uninstalled.error().message());
  }
  records_.clear();
  files_.remove_all();
  // The node's cgroup (its tasks' parent) goes too, once empty; the eBPF hooks' owner, if
  // any, removes it when it detaches instead.
  if (auto cgroup2 = ensure_cgroup2(); cgroup2.ok()) {
    ::rmdir((*cgroup2 + "/shoal/" + config_.node_tag).c_str());
  }
  return removed;
}

}  // namespace shoal::agent
