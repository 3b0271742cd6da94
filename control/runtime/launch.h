// Starting a task's shim from the (multi-threaded) agent: posix_spawn, which glibc implements
// with CLONE_VFORK and no user code between fork and exec, then waiting for the shim's report.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/runtime/task_files.h"

namespace shoal::runtime {

struct LaunchedShim {
  PidRecord pids;
  UniqueFd shim;  // pidfd of the shim, our child until it is reaped
};

// Spawns `shim_path --report-fd 3 <task dir>` and waits up to timeout for "ok" or an error.
// On failure the shim is killed and reaped; the caller removes the task's cgroup and files.
Result<LaunchedShim> launch_shim(const std::string& shim_path, const TaskPaths& paths,
                                 std::chrono::milliseconds timeout);

}  // namespace shoal::runtime
