// Which load-balancer backend a node uses (shoald --lb-backend auto|ebpf|ipvs): auto takes eBPF
// where the kernel runs its programs, else IPVS; a forced backend the kernel lacks is refused
// with the kernel's reason, in one line.
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

// Probes this kernel: loads a one-instruction cgroup/connect4 program (the VIP hook) and drops
// it; with ipvs_available() for IPVS.
Status ebpf_available();
KernelSupport probe_kernel();

}  // namespace shoal::lb
