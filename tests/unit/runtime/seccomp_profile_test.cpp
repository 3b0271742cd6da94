// The tasks' default seccomp profile as data (control/runtime/seccomp_profile.h): an allow-list
// that names no call reaching beyond the task, whose conditional rules say what Docker's say,
// and that this machine's libseccomp accepts whole.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <ostream>
#include <set>
#include <string>

#include "control/runtime/seccomp_filter.h"
#include "control/runtime/seccomp_profile.h"

namespace shoal::runtime {

// For gtest's messages.
void PrintTo(SeccompAction action, std::ostream* out) {
  *out << (action == SeccompAction::kAllow   ? "allow"
           : action == SeccompAction::kErrno ? "errno"
                                             : "kill process");
}

namespace {

const SeccompProfile& profile() {
  return default_seccomp_profile();
}

bool names(const SeccompRule& rule, const std::string& name) {
  return std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end();
}

bool holds(const SeccompArg& arg, const uint64_t (&args)[6]) {
  const uint64_t a = args[arg.index];
  switch (arg.op) {
    case SeccompOp::kNotEqual:
      return a != arg.value;
    case SeccompOp::kLessThan:
      return a < arg.value;
    case SeccompOp::kLessOrEqual:
      return a <= arg.value;
    case SeccompOp::kEqualTo:
      return a == arg.value;
    case SeccompOp::kGreaterOrEqual:
      return a >= arg.value;
    case SeccompOp::kGreaterThan:
      return a > arg.value;
    case SeccompOp::kMaskedEqual:
      return (a & arg.value) == arg.value_two;
  }
  return false;
}

// What the profile answers a call of `name` with these arguments, as the kernel would: the
// action of a rule whose tests all hold, else the default. (The profile has no two rules that
// could both match with different actions: libseccomp would refuse that.)
SeccompAction answer(const std::string& name, const uint64_t (&args)[6]) {
  for (const SeccompRule& rule : profile().syscalls) {
    if (names(rule, name) && std::all_of(rule.args.begin(), rule.args.end(),
                                         [&](const SeccompArg& arg) { return holds(arg, args); }))
      return rule.action;
  }
  return profile().default_action;
}

SeccompAction answer(const std::string& name, uint64_t arg0 = 0) {
  const uint64_t args[6] = {arg0};
  return answer(name, args);
}

TEST(SeccompProfileTest, RefusesWithEpermWhatItDoesNotName) {
  EXPECT_EQ(profile().default_action, SeccompAction::kErrno);
  EXPECT_EQ(profile().default_errno_ret, unsigned{EPERM});
  EXPECT_EQ(answer("a_call_never_heard_of"), SeccompAction::kErrno);
}

TEST(SeccompProfileTest, NamesNoCallThatReachesBeyondTheTask) {
  // clang-format off
  const char* const dangerous[] = {
      "mount", "umount2", "pivot_root", "setns", "init_module", "finit_module", "delete_module",
      "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "bpf", "perf_event_open",
      "ptrace", "process_vm_readv", "process_vm_writev", "keyctl", "add_key", "request_key",
      "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at",
      "acct", "quotactl", "clock_settime", "settimeofday", "fsopen", "fsmount", "move_mount",
      "open_tree", "syslog", "vhangup", "iopl", "ioperm", "kcmp", "pidfd_getfd", "sethostname",
      "setdomainname", "lookup_dcookie", "fanotify_init", "mbind", "set_mempolicy", "get_mempolicy",
      "move_pages", "process_madvise",
  };
  // clang-format on
  for (const SeccompRule& rule : profile().syscalls) {
    for (const char* name : dangerous) {
      EXPECT_FALSE(rule.action == SeccompAction::kAllow && names(rule, name))
          << name << " is allowed";
    }
  }
}

TEST(SeccompProfileTest, EveryNameResolvesOnThisMachine) {
  // Calls newer than some libseccomp releases: skipped by the loader where unknown.
  const std::set<std::string> may_be_unknown = {"fchmodat2", "futex_requeue", "futex_wait",
                                                "futex_wake", "map_shadow_stack"};
  for (const std::string& name : unresolved_syscalls(profile())) {
    EXPECT_TRUE(may_be_unknown.contains(name)) << name << " is unknown to libseccomp here";
  }
  // And the libseccomp of this machine accepts every rule.
  auto filter = SeccompFilter::build(profile());
  EXPECT_TRUE(filter.ok()) << filter.error().message();
}

TEST(SeccompProfileTest, CloneAndUnshareOnlyWithoutNamespaceFlags) {
  const uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                          CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  EXPECT_EQ(answer("clone", thread), SeccompAction::kAllow);
  EXPECT_EQ(answer("clone", SIGCHLD), SeccompAction::kAllow);  // fork
  for (uint64_t flag : {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                        CLONE_NEWPID, CLONE_NEWNET}) {
    EXPECT_EQ(answer("clone", SIGCHLD | flag), SeccompAction::kErrno) << std::hex << flag;
    EXPECT_EQ(answer("unshare", flag), SeccompAction::kErrno) << std::hex << flag;
  }
  EXPECT_EQ(answer("unshare", 0x80 /* CLONE_NEWTIME */), SeccompAction::kErrno);
  EXPECT_EQ(answer("unshare", CLONE_FILES | CLONE_FS), SeccompAction::kAllow);
  // clone3 keeps its flags in memory: ENOSYS, so that libc falls back to clone.
  const auto clone3 = std::find_if(profile().syscalls.begin(), profile().syscalls.end(),
                                   [](const SeccompRule& rule) { return names(rule, "clone3"); });
  ASSERT_NE(clone3, profile().syscalls.end());
  EXPECT_EQ(clone3->action, SeccompAction::kErrno);
  EXPECT_EQ(clone3->errno_ret, unsigned{ENOSYS});
  EXPECT_TRUE(clone3->args.empty());
}

TEST(SeccompProfileTest, PersonalityOnlyForDockersValues) {
  for (uint64_t persona : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull})
    EXPECT_EQ(answer("personality", persona), SeccompAction::kAllow) << std::hex << persona;
  // ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_BSD: refused, also with upper bits set that the
  // kernel ignores (it reads an unsigned int).
  for (uint64_t persona : {0x0040000ull, 0x0400000ull, 0x6ull, 0x100000000ull | 0x0040000})
    EXPECT_EQ(answer("personality", persona), SeccompAction::kErrno) << std::hex << persona;
}

TEST(SeccompProfileTest, SocketForEveryFamilyButVsock) {
  constexpr uint64_t kVsock = 40;
  for (uint64_t family = 0; family < 64; ++family) {
    EXPECT_EQ(answer("socket", family),
              family == kVsock ? SeccompAction::kErrno : SeccompAction::kAllow)
        << family;
  }
  // The kernel reads an int: upper bits must not carry AF_VSOCK past the filter.
  EXPECT_EQ(answer("socket", (uint64_t{1} << 32) | kVsock), SeccompAction::kErrno);
  EXPECT_EQ(answer("socket", ~uint64_t{0xffffffff} | kVsock), SeccompAction::kErrno);
}

TEST(SeccompFilterTest, ARuleLibseccompRefusesIsNamed) {
  SeccompProfile bad = profile();
  bad.syscalls.push_back(
      {{"getpid"}, SeccompAction::kAllow, 0, {{7, 1, 0, SeccompOp::kEqualTo}}});  // no arg 7
  auto refused = SeccompFilter::build(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("getpid"), std::string::npos)
      << refused.error().message();

  SeccompProfile unknown_arch = profile();
  unknown_arch.architectures.push_back("SCMP_ARCH_PDP11");
  auto no_arch = SeccompFilter::build(unknown_arch);
  ASSERT_FALSE(no_arch.ok());
  EXPECT_NE(no_arch.error().message().find("SCMP_ARCH_PDP11"), std::string::npos)
      << no_arch.error().message();
}

TEST(SeccompProfileTest, NativeArchitectureOnly) {
#if defined(__x86_64__)
  EXPECT_EQ(profile().architectures, std::vector<std::string>{"SCMP_ARCH_X86_64"});
#elif defined(__aarch64__)
  EXPECT_EQ(profile().architectures, std::vector<std::string>{"SCMP_ARCH_AARCH64"});
#endif
}

}  // namespace
}  // namespace shoal::runtime
