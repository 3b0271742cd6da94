#include "dataplane/lb/backend_choice.h"

namespace shoal::lb {

const char* backend_kind_name(BackendKind kind) {
  return kind == BackendKind::kEbpf ? "ebpf" : "ipvs";
}

Result<BackendKind> choose_backend(const std::string& requested, const KernelSupport& support) {
  if (requested == "ebpf" || (requested == "auto" && support.ebpf.ok())) {
    if (!support.ebpf.ok()) {
      return sys_error("use the eBPF load balancer", "on this kernel", support.ebpf.error().errnum,
                       support.ebpf.error().message());
    }
    return BackendKind::kEbpf;
  }
  if (requested == "ipvs" || requested == "auto") {
    if (!support.ipvs.ok()) {
      if (requested == "auto") {
        return sys_error("choose a load balancer", "on this kernel", 0,
                         "neither eBPF (" + support.ebpf.error().message() + ") nor IPVS (" +
                             support.ipvs.error().message() + ")");
      }
      return support.ipvs.error();
    }
    return BackendKind::kIpvs;
  }
  return invalid_argument("--lb-backend " + requested, "must be auto, ebpf or ipvs");
}

}  // namespace shoal::lb
