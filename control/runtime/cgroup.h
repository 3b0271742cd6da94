// A task's cgroups: <cgroup2>/shoal/<node>/<task id>/ with two leaves, shim/ and task/.
//
// The task (and everything it forks) lives in task/, so that cgroup.kill on task/ ends the whole
// task while its shim, in the sibling shim/, survives to record how it ended. The shim is kept
// out of the agent's own cgroup so that stopping the agent (systemd kills a unit's cgroup) does
// not end the tasks. Everything sits under shoal/<node>/, where the node's eBPF load-balancer
// programs are attached.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace shoal::runtime {

struct TaskCgroup {
  std::string dir;  // <cgroup2>/shoal/<node>/<task id>

  std::string shim() const { return dir + "/shim"; }
  std::string task() const { return dir + "/task"; }
};

// Creates the task's directory and its two leaves; the directory must not exist yet.
Status create_task_cgroup(const TaskCgroup& cgroup);
// Removes the leaves and the directory (they must be empty); missing ones are fine.
Status remove_task_cgroup(const TaskCgroup& cgroup);

// Moves the calling process into a cgroup directory.
Status join_cgroup(const std::string& dir);
// SIGKILLs every process in a cgroup and its descendants: cgroup.kill (Linux 5.14), or a kill()
// of each pid listed in cgroup.procs where that file is missing. A missing cgroup is fine.
Status kill_cgroup(const std::string& dir);
// Whether any process is in the cgroup or its descendants (cgroup.events "populated").
bool cgroup_populated(const std::string& dir);
// Polls until the cgroup is empty; an error when it is not within the timeout.
Status wait_cgroup_empty(const std::string& dir, std::chrono::milliseconds timeout);

}  // namespace shoal::runtime
