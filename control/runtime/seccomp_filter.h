// A SeccompProfile (seccomp_profile.h) turned into a kernel filter by libseccomp.
//
// A name this libseccomp does not know, or that is no call of this architecture, is skipped
// (unresolved_syscalls() lists them): the profile may name calls newer than the library, and
// a call the library cannot name cannot be made through it either, so refusing it by default
// is what an allow-list wants. Calls of an architecture the profile does not list kill the
// process (SECCOMP_RET_KILL_PROCESS).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/runtime/seccomp_profile.h"

namespace shoal::runtime {

class SeccompFilter {
 public:
  // Every rule of `profile` added, or the first one libseccomp refused, named.
  static Result<SeccompFilter> build(const SeccompProfile& profile);

  // Installs the filter on the calling thread. no_new_privs must be set (or CAP_SYS_ADMIN
  // held). Irreversible, and inherited by every child and exec.
  Status load() const;

 private:
  struct Release {
    void operator()(void* ctx) const;
  };
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}

  std::unique_ptr<void, Release> ctx_;  // a scmp_filter_ctx
};

// The names of `profile` that this libseccomp cannot resolve for the native architecture.
std::vector<std::string> unresolved_syscalls(const SeccompProfile& profile);

}  // namespace shoal::runtime
