// What a task may do once it runs: Docker's default capability set, no_new_privs and a default
// seccomp filter. Called by the task's process just before execve, in this order, the filter
// last (installing one without CAP_SYS_ADMIN needs no_new_privs).
//
// The capabilities kept are Docker's defaults: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD,
// NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE. All
// four sets (bounding, permitted, effective, inheritable) hold exactly these; the ambient set is
// empty. Without SYS_ADMIN, SYS_MODULE, SYS_PTRACE, NET_ADMIN, SYS_RAWIO, ... a root task cannot
// mount, load modules, trace other processes or change the node's network.
//
// The seccomp filter is an allow-list, as Docker's default profile is: seccomp_profile.h says
// which calls a task may make (and with which arguments), seccomp_filter.h loads that with
// libseccomp. Any other call answers EPERM; clone3 answers ENOSYS so that libc falls back to
// clone, whose namespace flags the filter checks; calls of another ABI (32-bit x86, x32) kill
// the process.
#pragma once

#include <cstdint>

#include "common/result.h"

namespace shoal::runtime {

// Docker's default capability set, as a mask of capability numbers (0x00000000a80425fb).
uint64_t default_capabilities();

// Trims the capability sets, sets no_new_privs and installs the default seccomp profile, in
// that order.
Status confine_task();

}  // namespace shoal::runtime
