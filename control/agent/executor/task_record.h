// What the agent knows of one task it runs, and where that knowledge survives a restart.
//
// Tasks outlive the agent (the runtime adopts them), but the agent's memory does not: each
// task's networks, addresses and last report are kept in <state>/agent/<task>.json, so that a
// restarted agent puts an adopted task back in rotation, reports it again, and can tear down the
// networks of a task that is no longer assigned.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/manager/rules/types.h"

namespace shoal::agent {

struct TaskRecord {
  std::vector<std::string> networks;  // attached, in order (eth0, eth1, ...)
  std::vector<Ipv4Prefix> addresses;  // on each of them
  std::string netns;                  // the task's namespace
  bool in_rotation = false;           // the service plane has its rows (this process only)
  manager::TaskState reported = manager::TaskState::kNew;
  std::string message;
  bool stopping = false;  // a stop is under way (this process only)
  bool torn_down = false;
  // When this process started it (steady clock): bounds the wait for readiness. Unset for an
  // adopted task, which goes back in rotation at once.
  std::optional<std::chrono::steady_clock::time_point> started_at;
};

// The records' files under <state_dir>/agent.
class TaskRecordFiles {
 public:
  explicit TaskRecordFiles(std::string state_dir);

  // Rewritten at every report: atomic, but no fsync (after a reboot its task is gone anyway).
  Status save(const std::string& task_id, const TaskRecord& record) const;
  // Every record kept; a file that does not parse is skipped (a crash mid-write leaves none:
  // the writes are atomic).
  std::map<std::string, TaskRecord> load() const;
  void remove(const std::string& task_id) const;
  void remove_all() const;

 private:
  std::string dir_;
};

}  // namespace shoal::agent
