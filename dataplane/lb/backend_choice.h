// Which load-balancer backend a node uses (shoald --lb-backend auto|ebpf|ipvs): auto takes eBPF
// where the kernel runs its programs, else IPVS; a forced backend the kernel lacks is refused
// with the kernel's reason, in one line. Each backend probes the kernel in its own folder
// (ebpf/ebpf_probe.h, ipvs/ipvs_probe.h); the agent's service plane puts the two together
// (control/agent/plane/service_balancer.h, probe_kernel).
#pragma once

#include <string>

#include "common/result.h"

namespace shoal::lb {

enum class BackendKind { kEbpf, kIpvs };

const char* backend_kind_name(BackendKind kind);

struct KernelSupport {
  Status ebpf;  // ok when the kernel loads the eBPF backend's program types
  Status ipvs;  // ok when the kernel has IPVS
};

// Pure: the choice for `requested` ("auto", "ebpf", "ipvs") on a kernel with `support`.
Result<BackendKind> choose_backend(const std::string& requested, const KernelSupport& support);

}  // namespace shoal::lb
