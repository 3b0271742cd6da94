#include "control/runtime/seccomp_profile.h"

#include <sched.h>

#include <cerrno>

namespace shoal::runtime {
namespace {

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// Namespace flags of clone() (CLONE_NEWTIME's bit is part of the exit signal there) and of
// unshare().
constexpr uint64_t kCloneNamespaces = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                      CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
constexpr uint64_t kUnshareNamespaces = kCloneNamespaces | CLONE_NEWTIME;

constexpr uint64_t kLow32 = 0xffffffff;
constexpr uint32_t kAfVsock = 40;  // AF_VSOCK, spelled out: not every libc header has it

// Allowed whatever the arguments: what a process needs to run, read and write files, use the
// network and IPC within its own namespaces, and manage its own memory, signals, timers and
// threads. Each of these either touches only the caller's own resources or checks its
// capabilities itself (mknod needs CAP_MKNOD, setuid CAP_SETUID, ...).
// Grouped by what the calls are about, many to a line.
// clang-format off
const char* const kAllowed[] = {
    // files and directories
    "chdir", "chroot", "close", "close_range", "copy_file_range", "dup", "dup3", "faccessat",
    "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchown", "fchownat",
    "fcntl", "fdatasync", "flock", "fstat", "fstatfs", "fsync", "ftruncate", "getcwd", "getdents64",
    "ioctl", "linkat", "lseek", "mkdirat", "mknodat", "name_to_handle_at", "newfstatat", "openat",
    "openat2", "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlinkat", "readv", "renameat", "renameat2", "sendfile", "splice", "statfs",
    "statx", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "umask",
    "unlinkat", "utimensat", "vmsplice", "write", "writev",
    // extended attributes
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
    "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
    // waiting on descriptors, and descriptors that wait
    "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "eventfd2", "fanotify_mark",
    "inotify_add_watch", "inotify_init1", "inotify_rm_watch", "ppoll", "pselect6", "signalfd4",
    "timerfd_create", "timerfd_gettime", "timerfd_settime",
    // asynchronous I/O, the old interface (io_uring is refused, see the header)
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
    "ioprio_get", "ioprio_set",
    // sockets (socket itself is conditional, below)
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
    "socketpair",
    // memory
    "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2",
    "mlockall", "mmap", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
    // processes and threads (clone and unshare are conditional, below)
    "execve", "execveat", "exit", "exit_group", "futex", "futex_waitv", "get_robust_list", "getcpu",
    "getpgid", "getpid", "getppid", "getpriority", "getrlimit", "getrusage", "getsid", "gettid",
    "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall",
    "rseq", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "set_robust_list", "set_tid_address", "setpgid", "setpriority", "setrlimit",
    "setsid", "times", "wait4", "waitid",
    // credentials (the kernel checks CAP_SETUID, CAP_SETGID and the others itself)
    "capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid",
    "getuid", "setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid", "setresuid",
    "setreuid", "setuid",
    // signals
    "kill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sigaltstack", "tgkill", "tkill",
    // time: reading it, sleeping, timers (adjtimex and clock_adjtime only read without
    // CAP_SYS_TIME)
    "adjtimex", "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer",
    "gettimeofday", "nanosleep", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_settime",
    // System V and POSIX IPC (the task has its own IPC namespace)
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
    "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat",
    "shmctl", "shmdt", "shmget",
    // the machine, read only; a process restricting itself further
    "getrandom", "sysinfo", "uname", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self",
    // newer forms of calls above, for a newer libc that tries them first and would not fall
    // back on EPERM (fchmodat with flags, futex split in three, CET shadow stacks)
    "fchmodat2", "futex_requeue", "futex_wait", "futex_wake", "map_shadow_stack",
#if defined(__x86_64__)
    // Only in the x86_64 table: the older forms that architectures of the generic table (such
    // as aarch64) have only as their *at or *2 successors, and x86's thread-area calls.
    "access", "alarm", "arch_prctl", "chmod", "chown", "creat", "dup2", "epoll_create",
    "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "eventfd", "fork", "futimesat", "getdents",
    "get_thread_area", "getpgrp", "inotify_init", "lchown", "link", "lstat", "mkdir", "mknod",
    "modify_ldt", "open", "pause", "pipe", "poll", "readlink", "rename", "rmdir", "select",
    "set_thread_area", "signalfd", "stat", "symlink", "time", "unlink", "utime", "utimes", "vfork",
#endif
};
// clang-format on

SeccompRule allow_when(std::string name, SeccompArg arg) {
  return {{std::move(name)}, SeccompAction::kAllow, 0, {arg}};
}

// Arg 0, the 32 bits the kernel reads of it, equal to `value`.
SeccompArg low32_equal(uint32_t value) {
  return {0, kLow32, value, SeccompOp::kMaskedEqual};
}

// socket() for every family but `refused`. libseccomp compares all 64 bits and cannot test one
// argument twice in a rule, so "the low 32 bits differ from `refused`" is written as one rule
// per bit of the family numbers (all below 64): bits 6-31 clear and bit i unlike refused's.
// Their union is every family from 0 to 63 but `refused`, whatever the upper 32 bits hold.
void allow_socket_families_except(std::vector<SeccompRule>& rules, uint32_t refused) {
  constexpr uint64_t kAboveFamilies = kLow32 & ~uint64_t{63};
  for (unsigned bit = 0; bit < 6; ++bit) {
    const uint64_t b = uint64_t{1} << bit;
    rules.push_back(allow_when(
        "socket", {0, kAboveFamilies | b, ~uint64_t{refused} & b, SeccompOp::kMaskedEqual}));
  }
}

SeccompProfile build_default_profile() {
  SeccompProfile profile;
  profile.default_action = SeccompAction::kErrno;
  profile.default_errno_ret = EPERM;
#if defined(__x86_64__)
  profile.architectures = {"SCMP_ARCH_X86_64"};
#elif defined(__aarch64__)
  profile.architectures = {"SCMP_ARCH_AARCH64"};
#else
#error "the task seccomp profile knows x86_64 and aarch64 only"
#endif
  auto& rules = profile.syscalls;
  rules.push_back({{std::begin(kAllowed), std::end(kAllowed)}, SeccompAction::kAllow, 0, {}});
  // No namespaces: the namespace flags clear.
  rules.push_back(allow_when("clone", {0, kCloneNamespaces, 0, SeccompOp::kMaskedEqual}));
  rules.push_back(allow_when("unshare", {0, kUnshareNamespaces, 0, SeccompOp::kMaskedEqual}));
  rules.push_back({{"clone3"}, SeccompAction::kErrno, ENOSYS, {}});
  // PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, and the query.
  for (uint32_t persona : {0x0u, 0x8u, 0x20000u, 0x20008u, 0xffffffffu})
    rules.push_back(allow_when("personality", low32_equal(persona)));
  allow_socket_families_except(rules, kAfVsock);
  return profile;
}

}  // namespace

const SeccompProfile& default_seccomp_profile() {
  static const SeccompProfile profile = build_default_profile();
  return profile;
}

}  // namespace shoal::runtime
