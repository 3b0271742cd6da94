// Processes named by pid and start time, held through pidfds so that a reused pid is never
// signalled or waited on by mistake.
#pragma once

#include <chrono>
#include <optional>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/runtime/task_files.h"

namespace shoal::runtime {

// Field 22 of /proc/PID/stat; nullopt when there is no such process.
std::optional<uint64_t> process_start_time(int pid);
// The calling process, for the pid file.
ProcessId self_process_id();
// A pidfd for the process, checked after opening to be the one that started at start_time
// (a pidfd keeps naming its process however the pid is reused later). ESRCH when it is gone.
Result<UniqueFd> open_process(const ProcessId& id);
// Whether the process behind a pidfd has exited (a zombie has).
bool has_exited(int pidfd);
// Waits up to timeout for the process to exit; true when it has.
bool wait_exit(int pidfd, std::chrono::milliseconds timeout);
// Sends a signal through a pidfd; a process that is already gone is not an error.
Status signal_process(int pidfd, int signal, const std::string& label);
// Reaps the process if it is our child and has exited; a no-op otherwise (ECHILD).
void reap_if_child(int pidfd);

}  // namespace shoal::runtime
