// The executor's stopping path: a task no longer wanted is stopped on a thread of its own, an
// exited one is reported, and either way its network endpoints are torn down; finished tasks are
// forgotten after a while, networks no task uses are removed, and leave() stops everything.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <thread>

#include "common/mounts.h"
#include "control/agent/executor/executor.h"
#include "control/agent/executor/executor_internal.h"

namespace shoal::daemon {

using namespace std::chrono_literals;
using executor_internal::endpoint_id;
using manager::TaskState;
namespace fs = std::filesystem;

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
  auto stopped = runtime_->stop(id, grace);
  if (!stopped.ok())
    spdlog::warn("stop task {}: {}", id, stopped.error().message());
  std::lock_guard lock(mutex_);
  auto it = local_.find(id);
  if (it == local_.end())
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
    auto it = local_.find(status.id);
    if (status.phase != runtime::TaskPhase::kExited || it == local_.end() || it->second.stopping ||
        manager::is_terminal(it->second.reported)) {
      continue;
    }
    auto& local = it->second;
    teardown(status.id, local);
    finished_.push_back(status.id);
    if (status.exit_code == 0) {
      report(status.id, local, TaskState::kComplete, "finished");
    } else if (status.exit_code) {
      report(status.id, local, TaskState::kFailed,
             "task: non-zero exit (" + std::to_string(*status.exit_code) + ")", *status.exit_code);
    } else if (status.signal) {
      report(status.id, local, TaskState::kFailed,
             "task: killed by signal " + std::to_string(*status.signal), 128 + *status.signal);
    } else {
      report(status.id, local, TaskState::kFailed, "task: exited while the agent was down");
    }
  }
}

void Executor::teardown(const std::string& id, Local& local) {
  if (local.torn_down)
    return;
  take_out_of_rotation(id, local);
  // Its address may go to a task on another host next: no host may keep it as a peer here.
  withdraw_endpoints(id, local);
  std::lock_guard kernel(kernel_mutex_);
  for (size_t index = local.networks.size(); index-- > 0;) {
    auto detached = overlay_.detach(local.networks[index], endpoint_id(id, index));
    if (!detached.ok())
      spdlog::warn("task {}: {}", id, detached.error().message());
  }
  local.torn_down = true;
  (void)save_local(id, local);
}

void Executor::forget_finished() {
  // Tasks the manager no longer lists and that no longer run are forgotten here...
  for (auto it = local_.begin(); it != local_.end();) {
    const auto& [id, local] = *it;
    if (!assigned_.contains(id) && manager::is_terminal(local.reported) && local.torn_down) {
      std::error_code ec;
      fs::remove(config_.state_dir + "/agent/" + id + ".json", ec);
      it = local_.erase(it);
    } else {
      ++it;
    }
  }
  // ...but their output stays for `service logs` until newer tasks push it out.
  while (finished_.size() > kFinishedKept) {
    auto id = finished_.front();
    finished_.pop_front();
    if (!local_.contains(id))
      (void)runtime_->remove(id);
  }
  // Networks no live task uses go away on this node.
  std::set<std::string> used;
  for (const auto& [id, local] : local_) {
    if (!local.torn_down)
      used.insert(local.networks.begin(), local.networks.end());
  }
  if (node_ingress_attached_) {
    used.insert(node_ingress_attached_->network_id);  // every node keeps it
  }
  gossip_.set_networks(used);
  std::lock_guard kernel(kernel_mutex_);
  for (auto it = ensured_networks_.begin(); it != ensured_networks_.end();) {
    if (used.contains(*it)) {
      ++it;
      continue;
    }
    if (auto removed = overlay_.remove(*it); !removed.ok()) {
      spdlog::warn("remove network {}: {}", *it, removed.error().message());
    }
    it = ensured_networks_.erase(it);
  }
  if (needs_sweep_) {
    // What an earlier run of the agent left (it may have died mid-teardown): every namespace
    // of this node that no live task accounts for goes.
    std::set<std::string> endpoints;
    for (const auto& [id, local] : local_) {
      if (local.torn_down)
        continue;
      for (size_t index = 0; index < std::max<size_t>(local.networks.size(), 1); ++index) {
        endpoints.insert(endpoint_id(id, index));
      }
    }
    auto swept = overlay_.sweep(used, endpoints);
    if (!swept.ok()) {
      spdlog::warn("sweep: {}", swept.error().message());
    } else {
      for (const auto& ns : swept->removed)
        spdlog::info("removed leftover namespace {}", ns);
      needs_sweep_ = false;
    }
  }
}

Status Executor::leave() {
  std::vector<std::pair<std::string, std::chrono::milliseconds>> running;
  {
    std::lock_guard lock(mutex_);
    assigned_.clear();
    for (auto& [id, local] : local_) {
      if (!local.stopping && !local.torn_down) {
        local.stopping = true;
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
  std::lock_guard kernel(kernel_mutex_);
  for (const auto& network : ensured_networks_)
    (void)overlay_.remove(network);
  ensured_networks_.clear();
  auto swept = overlay_.sweep({}, {});
  if (auto uninstalled = plane_.uninstall(); !uninstalled.ok()) {
    spdlog::warn("service plane: {}", uninstalled.error().message());
  }
  local_.clear();
  std::error_code ec;
  fs::remove_all(config_.state_dir + "/agent", ec);
  // The node's cgroup (its tasks' parent) goes too, once empty; the eBPF hooks' owner, if
  // any, removes it when it detaches instead.
  if (auto cgroup2 = ensure_cgroup2(); cgroup2.ok()) {
    ::rmdir((*cgroup2 + "/shoal/" + config_.node_tag).c_str());
  }
  if (!swept.ok())
    return swept.error();
  return {};
}

}  // namespace shoal::daemon
