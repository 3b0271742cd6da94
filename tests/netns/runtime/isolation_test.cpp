// A task probing the node it runs on (SECURITY_REVIEW.md finding #2, issue #18 item 6): each
// test is an attack that succeeded before tasks were confined (see control/runtime/README.md,
// "What a task can and cannot do").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/netns/runtime/runtime_fixture.h"

namespace shoal::runtime::test {
namespace {

using TaskIsolationTest = RuntimeTest;

// A listening unix socket, closed and unlinked on every path.
class PlantedSocket {
 public:
  explicit PlantedSocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    listening_ =
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 4) == 0;
  }
  ~PlantedSocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  PlantedSocket(const PlantedSocket&) = delete;
  PlantedSocket& operator=(const PlantedSocket&) = delete;
  bool listening() const { return listening_; }
  // Whether anyone connected (a connection waits in the backlog).
  bool was_connected() const {
    const int peer = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer >= 0) {
      ::close(peer);
    }
    return peer >= 0;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool listening_ = false;
};

TEST_F(TaskIsolationTest, TaskCannotReadTheNodesKeysOrUseItsSocket) {
  // What shoald keeps in its state dir: the CA key and the control socket.
  const std::string secret = "SECRET-CA-KEY-" + node_;
  ASSERT_TRUE(std::filesystem::create_directories(state_.path() + "/certificates"));
  std::ofstream(state_.path() + "/certificates/swarm-root-ca.key") << secret << "\n";
  PlantedSocket socket(state_.path() + "/shoald.sock");
  ASSERT_TRUE(socket.listening());
  const std::string out = output_of(
      "thief", "cat " + state_.path() +
                   "/certificates/swarm-root-ca.key; "
                   "perl -MIO::Socket::UNIX -e 'print IO::Socket::UNIX->new(Peer => $ARGV[0]) ? "
                   "\"connected\\n\" : \"refused: $!\\n\"' " +
                   state_.path() +
                   "/shoald.sock; "
                   "echo entries=$(ls -A " +
                   state_.path() + " | wc -l)");
  EXPECT_EQ(out.find(secret), std::string::npos) << out;
  EXPECT_EQ(out.find("connected"), std::string::npos) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_NE(out.find("entries=0"), std::string::npos) << out;
  EXPECT_FALSE(socket.was_connected());
}

TEST_F(TaskIsolationTest, TaskSeesNoNetnsPinsBpffsOrCgroups) {
  // A directory in the bpffs stands for the node's pinned maps and programs.
  auto bpffs = ensure_bpffs();
  ASSERT_OK(bpffs);
  const std::string pin = *bpffs + "/" + node_;
  ASSERT_EQ(::mkdir(pin.c_str(), 0700), 0);
  const std::string node_cgroup = cgroup_root_ + "/shoal/" + node_;
  const std::string out =
      output_of("pins", "test -e " + dataplane::named_netns_path(netns_.name()) +
                            " && echo netns-visible; "
                            "test -e " +
                            pin +
                            " && echo bpffs-visible; "
                            "test -e " +
                            node_cgroup +
                            " && echo cgroup-visible; "
                            "echo netns=$(ls -A /run/netns 2>/dev/null | wc -l); "
                            "echo bpf=$(ls -A /sys/fs/bpf 2>/dev/null | wc -l); "
                            "echo cgroup=$(ls -A /sys/fs/cgroup 2>/dev/null | wc -l); "
                            "grep -c -E ' (cgroup2?|bpf|nsfs) ' /proc/self/mounts; "
                            "cat /proc/self/cgroup");
  ::rmdir(pin.c_str());
  EXPECT_EQ(out.find("-visible"), std::string::npos) << out;
  EXPECT_NE(out.find("netns=0\nbpf=0\ncgroup=0\n0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("0::/\n"), std::string::npos) << out;  // its own cgroup namespace
}

TEST_F(TaskIsolationTest, TaskSeesOnlyItsOwnProcesses) {
  const std::string out =
      output_of("pids", "kill -0 " + std::to_string(::getpid()) +
                            " 2>/dev/null && echo host-visible; "
                            "echo self=$$; echo procs=$(ls /proc | grep -c '^[0-9]')");
  EXPECT_EQ(out.find("host-visible"), std::string::npos) << out;
  EXPECT_NE(out.find("self=2\n"), std::string::npos) << out;  // under the init, PID 1
  // The init, the shell, its subshell and the two commands of the pipeline: nothing of the
  // node's.
  const size_t at = out.find("procs=");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_LE(std::stoi(out.substr(at + 6)), 5) << out;
}

TEST_F(TaskIsolationTest, TaskHasDockersCapabilitiesNoNewPrivsAndSeccomp) {
  const std::string out =
      output_of("caps",
                "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
                "/proc/self/status");
  EXPECT_EQ(out,
            "CapInh:\t00000000a80425fb\n"
            "CapPrm:\t00000000a80425fb\n"
            "CapEff:\t00000000a80425fb\n"
            "CapBnd:\t00000000a80425fb\n"
            "CapAmb:\t0000000000000000\n"
            "NoNewPrivs:\t1\n"
            "Seccomp:\t2\n");
}

TEST_F(TaskIsolationTest, TaskCannotMountUnshareOrLoadModules) {
  const std::string out = output_of(
      "kernel",
      "mount -t tmpfs none " + workdir_.path() +
          " 2>/dev/null; echo mount=$?; "
          "unshare --user true 2>&1; echo user=$?; "
          "unshare --net true 2>&1; echo net=$?; "
          "perl -e 'my $p = \"\"; $r = syscall(" +
          std::to_string(SYS_finit_module) +
          ", 0, $p, 0); "
          "print \"finit_module=\", ($r < 0 ? \"$!\" : \"loaded\"), \"\\n\"' 2>&1; echo perl=$?");
  EXPECT_EQ(out.find("mount=0"), std::string::npos) << out;
  EXPECT_NE(out.find("user=1"), std::string::npos) << out;
  EXPECT_NE(out.find("net=1"), std::string::npos) << out;
  EXPECT_NE(out.find("finit_module=Operation not permitted\n"), std::string::npos) << out;
}

TEST_F(TaskIsolationTest, SeccompRefusesTheCallsThatReachBeyondTheTask) {
  // Each called with zeroed arguments: what matters is that the filter answers first.
  const std::vector<std::pair<std::string, long>> calls = {
      {"ptrace", SYS_ptrace},
      {"bpf", SYS_bpf},
      {"keyctl", SYS_keyctl},
      {"add_key", SYS_add_key},
      {"setns", SYS_setns},
      {"perf_event_open", SYS_perf_event_open},
      {"userfaultfd", SYS_userfaultfd},
      {"io_uring_setup", SYS_io_uring_setup},
      {"open_by_handle_at", SYS_open_by_handle_at},
      {"kexec_load", SYS_kexec_load},
      {"reboot", SYS_reboot},
      {"swapoff", SYS_swapoff},
      {"pivot_root", SYS_pivot_root},
      {"fsopen", SYS_fsopen},
      {"clock_settime", SYS_clock_settime},
      {"acct", SYS_acct}};
  std::string script = "perl -e '";
  std::string expected;
  for (const auto& [name, number] : calls) {
    script += "$! = 0; syscall(" + std::to_string(number) + ", 0, 0, 0, 0, 0); print \"" + name +
              "=\", $! + 0, \"\\n\"; ";
    expected += name + "=" + std::to_string(EPERM) + "\n";
  }
  // clone3 answers ENOSYS, so that libc falls back to clone, whose flags the filter checks.
  script += "$! = 0; syscall(" + std::to_string(SYS_clone3) +
            ", 0, 0); print \"clone3=\", $! + 0, \"\\n\"'";
  expected += "clone3=" + std::to_string(ENOSYS) + "\n";
  EXPECT_EQ(output_of("calls", script), expected);
}

TEST_F(TaskIsolationTest, SeccompAllowsOnlyItsListYetOrdinaryProgramsRun) {
  // Calls no list of dangerous ones names, harmless-looking and absent from Docker's
  // allow-list: an allow-list refuses them all the same (EPERM), a deny-list let them through
  // (get_mempolicy succeeds, process_madvise answers EBADF, vsock EAFNOSUPPORT or a socket).
  // personality is allowed for a few values only: ADDR_NO_RANDOMIZE is not one of them.
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"get_mempolicy", std::to_string(SYS_get_mempolicy) + ", 0, 0, 0, 0, 0"},
      {"process_madvise", std::to_string(SYS_process_madvise) + ", -1, 0, 0, 0, 0"},
      {"vsock_socket", std::to_string(SYS_socket) + ", 40, 1, 0"},
      // The kernel reads the family as an int: bits above it must not carry AF_VSOCK past a
      // filter that compares 64 bits (as a plain "!= 40" would).
      {"vsock_socket_upper_bits", std::to_string(SYS_socket) + ", 0x100000028, 1, 0"},
      {"personality_no_randomize", std::to_string(SYS_personality) + ", 0x0040000"},
      {"syslog", std::to_string(SYS_syslog) + ", 10, 0, 0"},
      {"vhangup", std::to_string(SYS_vhangup)}};
  // What ordinary programs do: still allowed. (0xffffffff asks for the personality; unshare
  // without a namespace flag only unshares the descriptor table.)
  const std::vector<std::pair<std::string, std::string>> allowed = {
      {"personality_query", std::to_string(SYS_personality) + ", 0xffffffff"},
      {"unshare_files", std::to_string(SYS_unshare) + ", 0x400"},
      {"inet_socket", std::to_string(SYS_socket) + ", 2, 1, 0"},
      {"unix_socket", std::to_string(SYS_socket) + ", 1, 1, 0"}};
  std::string script =
      "perl -e 'sub try { my ($n, $nr, @a) = @_; $! = 0; my $r = syscall($nr, @a); "
      "print $n, \"=\", ($r < 0 ? $! + 0 : \"ok\"), \"\\n\" } ";
  std::string expected;
  for (const auto& [name, call] : refused) {
    script += "try(\"" + name + "\", " + call + "); ";
    expected += name + "=" + std::to_string(EPERM) + "\n";
  }
  for (const auto& [name, call] : allowed) {
    script += "try(\"" + name + "\", " + call + "); ";
    expected += name + "=ok\n";
  }
  // fork and exec of a shell, and threads (pthread_create tries clone3 first, gets ENOSYS and
  // falls back to clone with CLONE_THREAD, which the clone rule lets through).
  script +=
      "'; sh -c 'echo exec-ok'; "
      "perl -Mthreads -e 'threads->create(sub { print \"thread-ok\\n\" })->join()'";
  expected += "exec-ok\nthread-ok\n";
  EXPECT_EQ(output_of("allowlist", script), expected);
}

#if defined(__x86_64__)
TEST_F(TaskIsolationTest, CallsOfAnotherAbiKillTheTask) {
  // getpid as an x32 call (bit 30 set): the filter knows native numbers only, so such a call,
  // which could reach what the native rules refuse, kills the process with SIGSYS.
  const std::string out =
      output_of("x32", "perl -e 'syscall(0x40000000 | " + std::to_string(SYS_getpid) +
                           "); print \"alive\\n\"'; echo status=$?");
  EXPECT_EQ(out.find("alive"), std::string::npos) << out;
  EXPECT_NE(out.find("status=" + std::to_string(128 + SIGSYS) + "\n"), std::string::npos) << out;
}
#endif

TEST_F(TaskIsolationTest, TaskCannotWriteTheNodesFilesOrReachItsDisks) {
  // Under the node's /tmp should the task see it (it must not: its /tmp is its own).
  const std::string scratch = "/tmp/shoal-rt-" + node_ + "-scratch";
  const std::string disk = "/tmp/shoal-rt-" + node_ + "-disk";
  const std::string out = output_of(
      "writer", "touch " + workdir_.path() + "/planted 2>&1; " + "echo scratch > " + scratch +
                    " && cat " + scratch + "; " + "echo devnull > /dev/null && echo devnull-ok; " +
                    "echo blockdevs=$(find /dev -type b | wc -l); " + "mknod " + disk +
                    " b 7 0 && head -c1 " + disk + " >/dev/null 2>&1 && echo disk-read; " +
                    "awk '$2 == \"/\" || $2 == \"/proc/sys\" || $2 == \"/proc/sysrq-trigger\" || "
                    "$2 == \"/sys\" { split($4, o, \",\"); print $2, o[1] }' /proc/self/mounts");
  EXPECT_FALSE(exists(scratch));
  EXPECT_FALSE(exists(disk));
  ::unlink(scratch.c_str());
  ::unlink(disk.c_str());
  EXPECT_FALSE(exists(workdir_.path() + "/planted"));
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_NE(out.find("scratch\n"), std::string::npos) << out;  // its own /tmp
  EXPECT_NE(out.find("devnull-ok\n"), std::string::npos) << out;
  EXPECT_NE(out.find("blockdevs=0\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("disk-read"), std::string::npos) << out;
  EXPECT_NE(out.find("/ ro\n"), std::string::npos) << out;
  EXPECT_NE(out.find("/proc/sys ro\n"), std::string::npos) << out;
  if (exists("/proc/sysrq-trigger")) {  // (a kernel without CONFIG_MAGIC_SYSRQ has none)
    EXPECT_NE(out.find("/proc/sysrq-trigger ro\n"), std::string::npos) << out;
  }
  EXPECT_NE(out.find("/sys ro\n"), std::string::npos) << out;
}

TEST_F(TaskIsolationTest, StopOfATaskWithoutASigtermHandlerIsQuick) {
  // The task runs under an init, not as PID 1: SIGTERM ends it as it would on the node.
  ASSERT_OK(runtime_->start(shell("plain", "echo ready; exec sleep 1000")));
  ASSERT_TRUE(wait_output("plain", "ready"));
  const auto before = std::chrono::steady_clock::now();
  ASSERT_OK(runtime_->stop("plain", 20s));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  auto status = runtime_->status("plain");
  ASSERT_OK(status);
  EXPECT_EQ(status->signal, SIGTERM);
  ASSERT_OK(runtime_->remove("plain"));
  expect_no_trace("plain");
}

TEST_F(TaskIsolationTest, HiddenPathsOfTheNodeAreEmptyForTasks) {
  // The node's state dir as the executor passes it: with a key and a mount below it.
  TempDir node_state("shoal-rt", "/var/tmp");
  ASSERT_TRUE(std::filesystem::create_directories(node_state.path() + "/manager"));
  std::ofstream(node_state.path() + "/ca.key") << "SECRET-" << node_ << "\n";
  const std::string manager = node_state.path() + "/manager";
  ASSERT_EQ(::mount("tmpfs", manager.c_str(), "tmpfs", 0, nullptr), 0);
  std::ofstream(manager + "/store.db") << "SECRET-STORE\n";
  runtime_.reset();
  RuntimeConfig hiding = config();
  hiding.hidden_paths = {node_state.path()};
  auto opened = Runtime::open(hiding);
  ASSERT_OK(opened);
  runtime_.emplace(std::move(*opened));
  const std::string out = output_of("hidden", "cat " + node_state.path() + "/ca.key " + manager +
                                                  "/store.db; "
                                                  "echo entries=$(ls -A " +
                                                  node_state.path() +
                                                  " | wc -l); "
                                                  "grep -c " +
                                                  manager + " /proc/self/mounts");
  ::umount2(manager.c_str(), MNT_DETACH);
  EXPECT_EQ(out.find("SECRET"), std::string::npos) << out;
  EXPECT_NE(out.find("entries=0\n0\n"), std::string::npos) << out;

  hiding.hidden_paths = {"relative/dir"};
  auto refused = Runtime::open(hiding);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("relative/dir"), std::string::npos);
}

TEST_F(TaskIsolationTest, TaskFilesAppearReadOnlyWhereverTheyGo) {
  // Over an existing file, in an existing directory, at "/" (the task's root becomes a copy)
  // and on the task's own /tmp.
  TaskSpec task = shell("files", "");
  const std::vector<std::string> targets = {"/etc/hostname", "/etc/shoal-rt-" + node_ + ".conf",
                                            "/shoal-rt-" + node_,
                                            "/tmp/shoal-rt-" + node_ + ".conf"};
  for (size_t i = 0; i < targets.size(); ++i) {
    task.files.push_back({"content " + std::to_string(i) + "\n", targets[i], 0444});
    task.argv.back() += "cat " + targets[i] + "; echo x >> " + targets[i] + " || echo refused; ";
  }
  task.argv.back() += "echo done";
  ASSERT_OK(runtime_->start(task));
  EXPECT_EQ(wait_exited(*runtime_, "files").exit_code, 0);
  auto logs = runtime_->logs("files", 4096);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->out,
            "content 0\nrefused\ncontent 1\nrefused\ncontent 2\nrefused\n"
            "content 3\nrefused\ndone\n");
  for (size_t i = 1; i < targets.size(); ++i) {
    EXPECT_FALSE(exists(targets[i])) << targets[i] << " appeared on the node";
  }
  ASSERT_OK(runtime_->remove("files"));

  TaskSpec bad = shell("badfile", "true");
  bad.files.push_back({"x", "/proc/sys/kernel/core_pattern", 0444});
  auto refused = runtime_->start(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("/proc/sys/kernel/core_pattern"), std::string::npos)
      << refused.error().message();
  expect_no_trace("badfile");

  // Found by the task's init, in the task's view: the reason reaches start() whole.
  TaskSpec nowhere = shell("nowhere", "true");
  nowhere.files.push_back({"x", "/nonexistent-" + node_ + "/x", 0444});
  auto missing = runtime_->start(nowhere);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("does not exist on this node"), std::string::npos)
      << missing.error().message();
  expect_no_trace("nowhere");
}

TEST_F(TaskIsolationTest, AChrootEscapeFindsNoOtherRoot) {
  // A config at "/" makes the task's root a copy of the node's. The task keeps CAP_SYS_CHROOT:
  // the classic escape (chroot into a subdirectory, climb out with the cwd left outside it)
  // must lead nowhere but that same copy, with the node's state dir still hidden.
  TempDir node_state("shoal-rt", "/var/tmp");
  const std::string secret = "SECRET-" + node_;
  std::ofstream(node_state.path() + "/ca.key") << secret << "\n";
  runtime_.reset();
  RuntimeConfig hiding = config();
  hiding.hidden_paths = {node_state.path()};
  auto opened = Runtime::open(hiding);
  ASSERT_OK(opened);
  runtime_.emplace(std::move(*opened));
  TaskSpec task = spec("escape", {"/usr/bin/perl", "-e",
                                  "mkdir '/tmp/esc'; chroot '/tmp/esc' or die \"chroot: $!\"; "
                                  "chdir '..' for 1 .. 64; chroot '.' or die \"chroot .: $!\"; "
                                  "chdir '/'; exec '/bin/sh', '-c', $ARGV[0]",
                                  "cat " + node_state.path() +
                                      "/ca.key 2>/dev/null; echo blockdevs=$(find /dev -type b | "
                                      "wc -l); cat /shoal-rt-" +
                                      node_});
  task.files.push_back({"the config\n", "/shoal-rt-" + node_, 0444});
  ASSERT_OK(runtime_->start(task));
  wait_exited(*runtime_, "escape");
  auto logs = runtime_->logs("escape", 1 << 16);
  ASSERT_OK(logs);
  EXPECT_EQ(logs->out + logs->err, "blockdevs=0\nthe config\n");
  ASSERT_OK(runtime_->remove("escape"));
}

}  // namespace
}  // namespace shoal::runtime::test
