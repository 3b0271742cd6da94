#include "control/runtime/confine.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "control/runtime/seccomp_filter.h"

namespace shoal::runtime {
namespace {

Status drop_capabilities() {
  const uint64_t keep = default_capabilities();
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if ((keep >> cap & 1) == 0 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      return sys_error("drop from bounding set", "capability " + std::to_string(cap), errno);
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return sys_error("clear", "ambient capabilities", errno);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    const auto word = static_cast<uint32_t>(keep >> (32 * i));
    data[i] = {word, word, word};  // effective, permitted, inheritable
  }
  if (::syscall(SYS_capset, &header, data) != 0)
    return sys_error("set", "capabilities", errno);
  return {};
}

}  // namespace

uint64_t default_capabilities() {
  uint64_t mask = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                  CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                  CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE})
    mask |= uint64_t{1} << cap;
  return mask;
}

Status confine_task() {
  SHOAL_TRY(drop_capabilities());
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return sys_error("set", "no_new_privs", errno);
  // Last: a filter is installed without CAP_SYS_ADMIN only under no_new_privs.
  SHOAL_ASSIGN_OR_RETURN(const SeccompFilter filter,
                         SeccompFilter::build(default_seccomp_profile()));
  return filter.load();
}

}  // namespace shoal::runtime
