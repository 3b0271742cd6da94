// The executor's neighbours for its unit tests (control/agent/executor): a task runtime whose
// tasks live in memory (and outlive the runtime object, as real ones outlive the agent), the
// replicated tables and the service plane, each recording what it was told. Thread-safe: the
// executor calls them from its loop and its stoppers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "control/agent/gossip/table_member.h"
#include "control/agent/plane/task_rotation.h"
#include "control/runtime/task_runtime.h"

namespace shoal::testing {

// What the fake runtime's tasks are: shared by every FakeTaskRuntime made from it, so a task
// started by one executor is adopted by the next (a restarted agent).
struct FakeTasks {
  std::mutex mutex;
  std::map<std::string, runtime::TaskStatus> tasks;
  std::vector<runtime::TaskSpec> started;  // every start, in order
  std::vector<std::string> stopped;        // every stop, in order
  std::string refuse_next_start;           // the error of the next start; empty: it starts

  // The task ends by itself with this exit code.
  void exit(const std::string& id, int code) {
    std::lock_guard lock(mutex);
    auto& task = tasks.at(id);
    task.phase = runtime::TaskPhase::kExited;
    task.exit_code = code;
  }
  size_t starts() {
    std::lock_guard lock(mutex);
    return started.size();
  }
  std::vector<std::string> stops() {
    std::lock_guard lock(mutex);
    return stopped;
  }
  std::optional<runtime::TaskSpec> spec(const std::string& id) {
    std::lock_guard lock(mutex);
    for (const auto& spec : started) {
      if (spec.id == id)
        return spec;
    }
    return std::nullopt;
  }
};

class FakeTaskRuntime final : public runtime::TaskRuntime {
 public:
  explicit FakeTaskRuntime(std::shared_ptr<FakeTasks> tasks) : tasks_(std::move(tasks)) {}

  Result<runtime::TaskStatus> start(const runtime::TaskSpec& spec) override {
    std::lock_guard lock(tasks_->mutex);
    if (!tasks_->refuse_next_start.empty()) {
      auto why = std::exchange(tasks_->refuse_next_start, {});
      return Error{.op = "start task", .object = spec.id, .detail = why};
    }
    if (tasks_->tasks.contains(spec.id))
      return Error{.op = "start task", .object = spec.id, .detail = "id in use"};
    tasks_->started.push_back(spec);
    runtime::TaskStatus status;
    status.id = spec.id;
    status.pid = 1000 + static_cast<int>(tasks_->started.size());
    tasks_->tasks[spec.id] = status;
    return status;
  }
  Status stop(const std::string& id, std::chrono::milliseconds) override {
    std::lock_guard lock(tasks_->mutex);
    tasks_->stopped.push_back(id);
    auto it = tasks_->tasks.find(id);
    if (it != tasks_->tasks.end() && it->second.phase == runtime::TaskPhase::kRunning) {
      it->second.phase = runtime::TaskPhase::kExited;
      it->second.signal = 15;
    }
    return {};
  }
  Status remove(const std::string& id) override {
    std::lock_guard lock(tasks_->mutex);
    auto it = tasks_->tasks.find(id);
    if (it != tasks_->tasks.end() && it->second.phase == runtime::TaskPhase::kRunning)
      return sys_error("remove task", id, EBUSY, "still running");
    tasks_->tasks.erase(id);
    return {};
  }
  std::vector<runtime::TaskStatus> list() override {
    std::lock_guard lock(tasks_->mutex);
    std::vector<runtime::TaskStatus> all;
    for (const auto& [id, status] : tasks_->tasks)
      all.push_back(status);
    return all;
  }
  Result<runtime::TaskStatus> status(const std::string& id) override {
    std::lock_guard lock(tasks_->mutex);
    auto it = tasks_->tasks.find(id);
    if (it == tasks_->tasks.end())
      return Error{.op = "find task", .object = id, .detail = "unknown"};
    return it->second;
  }
  Result<runtime::TaskLogs> logs(const std::string& id, size_t) override {
    SHOAL_TRY(status(id));
    return runtime::TaskLogs{.out = "hello from " + id + "\n", .err = ""};
  }

 private:
  std::shared_ptr<FakeTasks> tasks_;
};

class FakeTableMember final : public agent::TableMember {
 public:
  void set_networks(const std::set<std::string>& networks) override {
    std::lock_guard lock(mutex_);
    networks_ = networks;
  }
  void put(std::string table, std::string network, std::string key, gossip::Bytes) override {
    std::lock_guard lock(mutex_);
    rows_.insert(table + "/" + network + "/" + key);
  }
  void erase(std::string table, std::string network, std::string key) override {
    std::lock_guard lock(mutex_);
    rows_.erase(table + "/" + network + "/" + key);
  }
  void watch(std::string, Watcher) override {}

  std::set<std::string> rows() {
    std::lock_guard lock(mutex_);
    return rows_;
  }
  std::set<std::string> networks() {
    std::lock_guard lock(mutex_);
    return networks_;
  }

 private:
  std::mutex mutex_;
  std::set<std::string> rows_;  // "table/network/key"
  std::set<std::string> networks_;
};

class FakeTaskRotation final : public agent::TaskRotation {
 public:
  Status enable_mesh(const std::string&, Ipv4) override { return {}; }
  Status task_starting(const agent::TaskService&) override { return {}; }
  Status task_running(const agent::TaskService& task) override {
    std::lock_guard lock(mutex_);
    in_rotation_[task.task_id] = task;
    return {};
  }
  Status task_stopping(const std::string& task_id) override {
    std::lock_guard lock(mutex_);
    in_rotation_.erase(task_id);
    return {};
  }
  Status uninstall() override { return {}; }

  std::optional<agent::TaskService> in_rotation(const std::string& task_id) {
    std::lock_guard lock(mutex_);
    auto it = in_rotation_.find(task_id);
    if (it == in_rotation_.end())
      return std::nullopt;
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, agent::TaskService> in_rotation_;
};

}  // namespace shoal::testing
