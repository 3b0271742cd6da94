#include "control/runtime/confine.h"

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace shoal::runtime {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
#else
#error "the task seccomp filter knows x86_64 and aarch64 only"
#endif

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// Namespace flags of clone() (CLONE_NEWTIME's bit belongs to the exit signal there) and of
// unshare().
constexpr uint32_t kCloneNamespaces = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                      CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
constexpr uint32_t kUnshareNamespaces = kCloneNamespaces | CLONE_NEWTIME;

// Denied outright with EPERM: what Docker's default profile allows only with capabilities a
// task does not get, or never.
constexpr long kDenied[] = {
    SYS_acct,
    SYS_add_key,
    SYS_bpf,
    SYS_clock_adjtime,
    SYS_clock_settime,
    SYS_delete_module,
    SYS_fanotify_init,
    SYS_finit_module,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fsopen,
    SYS_fspick,
    SYS_init_module,
    SYS_io_uring_enter,
    SYS_io_uring_register,
    SYS_io_uring_setup,
    SYS_kcmp,
    SYS_kexec_file_load,
    SYS_kexec_load,
    SYS_keyctl,
    SYS_lookup_dcookie,
    SYS_mbind,
    SYS_mount,
    SYS_mount_setattr,
    SYS_move_mount,
    SYS_move_pages,
    SYS_name_to_handle_at,
    SYS_nfsservctl,
    SYS_open_by_handle_at,
    SYS_open_tree,
    SYS_perf_event_open,
    SYS_pidfd_getfd,
    SYS_pivot_root,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_ptrace,
    SYS_quotactl,
    SYS_quotactl_fd,
    SYS_reboot,
    SYS_request_key,
    SYS_set_mempolicy,
    SYS_setdomainname,
    SYS_sethostname,
    SYS_setns,
    SYS_settimeofday,
    SYS_swapoff,
    SYS_swapon,
    SYS_syslog,
    SYS_umount2,
    SYS_userfaultfd,
    SYS_vhangup,
#if defined(__x86_64__)
    // Only in the x86_64 table (vm86, vm86old and stime exist only for 32-bit x86, whose
    // calls the filter refuses whole).
    SYS_create_module,
    SYS_get_kernel_syms,
    SYS_query_module,
    SYS_ioperm,
    SYS_iopl,
    SYS__sysctl,
    SYS_sysfs,
    SYS_uselib,
    SYS_ustat,
#endif
};

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kDeny = SECCOMP_RET_ERRNO | EPERM;
constexpr uint32_t kNoSuchCall = SECCOMP_RET_ERRNO | ENOSYS;

// The low 32 bits of the first argument (the flags of clone and unshare).
constexpr uint32_t kArg0Low = offsetof(seccomp_data, args[0])
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                              + 4
#endif
    ;

sock_filter load(uint32_t offset) {
  return BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset);
}
sock_filter ret(uint32_t action) {
  return BPF_STMT(BPF_RET | BPF_K, action);
}
// Skips the next instruction unless A == value.
sock_filter unless_equal(uint32_t value, uint8_t skip = 1) {
  return BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, skip);
}

// "if nr == call: deny when (arg0 & flags) != 0, else allow"; A holds nr before, not after.
void deny_flags(std::vector<sock_filter>& f, long call, uint32_t flags) {
  f.push_back(unless_equal(static_cast<uint32_t>(call), 4));
  f.push_back(load(kArg0Low));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, flags, 0, 1));
  f.push_back(ret(kDeny));
  f.push_back(ret(kAllow));
}

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

std::vector<sock_filter> default_seccomp_filter() {
  std::vector<sock_filter> f;
  f.push_back(load(offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0));
  f.push_back(ret(SECCOMP_RET_KILL_PROCESS));
  f.push_back(load(offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  // x32 numbers carry bit 30: none of them is allowed (the list names x86_64 numbers only).
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 0, 1));
  f.push_back(ret(kDeny));
#endif
  for (long call : kDenied) {
    f.push_back(unless_equal(static_cast<uint32_t>(call)));
    f.push_back(ret(kDeny));
  }
  f.push_back(unless_equal(SYS_clone3));
  f.push_back(ret(kNoSuchCall));
  deny_flags(f, SYS_unshare, kUnshareNamespaces);
  // (A still holds nr here: deny_flags loads the argument only on its own call's path.)
  deny_flags(f, SYS_clone, kCloneNamespaces);
  f.push_back(ret(kAllow));
  return f;
}

Status confine_task() {
  SHOAL_TRY(drop_capabilities());
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return sys_error("set", "no_new_privs", errno);
  std::vector<sock_filter> filter = default_seccomp_filter();
  sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
    return sys_error("install", "seccomp filter", errno);
  return {};
}

}  // namespace shoal::runtime
