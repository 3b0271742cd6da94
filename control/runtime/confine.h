// What a task may do once it runs: Docker's default capability set, no_new_privs and a default
// seccomp filter. Called by the task's process just before execve, in this order, the filter
// last (it forbids some of what the steps before it need).
//
// The capabilities kept are Docker's defaults: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD,
// NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE. All
// four sets (bounding, permitted, effective, inheritable) hold exactly these; the ambient set is
// empty. Without SYS_ADMIN, SYS_MODULE, SYS_PTRACE, NET_ADMIN, SYS_RAWIO, ... a root task cannot
// mount, load modules, trace other processes or change the node's network.
//
// The seccomp filter denies (EPERM) the system calls Docker's default profile denies to a
// container without extra capabilities: kernel modules, kexec, reboot, swap, clocks, mounts
// (old and new API), pivot_root, namespaces (setns; unshare and clone with a CLONE_NEW* flag,
// so not even a user namespace, which needs no capability), keyrings, ptrace and
// process_vm_*, bpf, perf_event_open, userfaultfd, io_uring, file handles, kcmp, quotas, acct,
// iopl/ioperm, obsolete calls. clone3 answers ENOSYS (its flags are out of the filter's reach;
// libc then falls back to clone). Calls of another ABI (32-bit on x86_64) kill the process:
// the filter only knows the native numbers.
#pragma once

#include <cstdint>
#include <vector>

#include <linux/filter.h>

#include "common/result.h"

namespace shoal::runtime {

// Docker's default capability set, as a mask of capability numbers (0x00000000a80425fb).
uint64_t default_capabilities();

// The filter, for tests and for confine_task().
std::vector<sock_filter> default_seccomp_filter();

// Trims the capability sets, sets no_new_privs and installs the filter, in that order.
Status confine_task();

}  // namespace shoal::runtime
