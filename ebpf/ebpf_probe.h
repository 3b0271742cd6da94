// Whether this kernel runs the eBPF load balancer: it loads a one-instruction cgroup/connect4
// program (the VIP hook) and drops it.
#pragma once

#include "common/result.h"

namespace shoal::lb {

Status ebpf_available();

}  // namespace shoal::lb
