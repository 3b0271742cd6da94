// The two pseudo file systems the eBPF backend and the task runtime need, found where they are
// mounted or mounted where they are missing. Under `ip netns exec` the agent sees a fresh /sys in
// which neither is mounted; mounting them there stays private to its mount namespace.
#pragma once

#include <string>

#include "common/result.h"

namespace shoal {

// The mount point of a bpffs (mounted at /sys/fs/bpf when none is visible).
Result<std::string> ensure_bpffs();
// The mount point of the cgroup v2 hierarchy (mounted at /sys/fs/cgroup/unified, or at
// /sys/fs/cgroup when that is an empty directory, when none is visible).
Result<std::string> ensure_cgroup2();
// mkdir -p
Status make_dirs(const std::string& path);

}  // namespace shoal
