// The seccomp profile every task gets, as plain data. seccomp_filter.h loads it with libseccomp;
// its shape is the OCI runtime spec's `linux.seccomp` (LinuxSeccomp: defaultAction,
// defaultErrnoRet, architectures, syscalls with names, action, errnoRet and args of index,
// value, valueTwo, op) so that the OCI runtime path (#20) can write the same data into a runc
// config.json.
//
// It is an allow-list, as Docker's default profile is: a call no rule names is refused with
// EPERM, so a call the list never thought of (a new one, an obscure one) is refused too. The
// names are those Docker's default profile lets a container with Docker's default capabilities
// (confine.h) make, plus chroot (CAP_SYS_CHROOT is among them). Conditional rules as Docker's:
//   - clone only without a CLONE_NEW* flag (no namespace, not even a user namespace, which
//     needs no capability); clone3 answers ENOSYS, since its flags sit in memory a filter cannot
//     read, and libc then falls back to clone;
//   - personality only for the few personas Docker allows (Linux, 32-bit Linux, UNAME26, and
//     the query 0xffffffff);
//   - socket for every address family but AF_VSOCK (the host's hypervisor services).
// Where this profile differs from Docker's:
//   - stricter: ptrace, process_vm_readv and process_vm_writev are refused (Docker allows them
//     on kernels >= 4.8; a task is not debugged in place), and io_uring_* are refused (newer
//     Docker releases refuse them too: their operations bypass the filter);
//   - unshare is allowed without a namespace flag (CLONE_FILES, CLONE_FS, CLONE_SYSVSEM only
//     unshare what the process already has), where Docker refuses unshare whole;
//   - personality and socket compare only the 32 bits the kernel reads (the argument is an int),
//     so that bits set above them cannot slip a refused value past the filter.
// Architectures: native only. Calls of another ABI (32-bit x86 through int 0x80, and x32, whose
// numbers carry bit 30 under the x86_64 architecture) kill the process: a task runs the node's
// 64-bit programs, and the 32-bit ABI multiplexes socket and IPC calls through socketcall and
// ipc, whose arguments sit in memory a filter cannot read, so its rules could be bypassed.
// Docker adds x86 and x32 instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shoal::runtime {

// OCI SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS.
enum class SeccompAction { kAllow, kErrno, kKillProcess };

// OCI SCMP_CMP_*. For kMaskedEqual, `value` is the mask and `value_two` what (arg & mask) must
// equal, as OCI and libseccomp have it.
enum class SeccompOp {
  kNotEqual,
  kLessThan,
  kLessOrEqual,
  kEqualTo,
  kGreaterOrEqual,
  kGreaterThan,
  kMaskedEqual
};

// OCI LinuxSeccompArg: a test on argument `index` (0-5) of the call.
struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOp op = SeccompOp::kEqualTo;
};

// OCI LinuxSyscall: the calls named get `action` when every one of `args` holds. Alternatives
// (one value or another of the same argument) are rules of their own, as in OCI.
struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  unsigned errno_ret = 0;  // for kErrno
  std::vector<SeccompArg> args;
};

// OCI LinuxSeccomp.
struct SeccompProfile {
  SeccompAction default_action = SeccompAction::kErrno;
  unsigned default_errno_ret = 0;
  // OCI's names: SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64. seccomp_filter.h kills a process making
  // a call of an architecture not listed.
  std::vector<std::string> architectures;
  std::vector<SeccompRule> syscalls;
};

// Docker's default profile as described above, for the architecture this was built for.
const SeccompProfile& default_seccomp_profile();

}  // namespace shoal::runtime
