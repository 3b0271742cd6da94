// Image tasks through the real runc (control/runtime/oci): the busybox test image
// (scripts/images/build-test-image.sh) unpacked once with `umoci raw unpack`, an overlay root per
// test, config.json from bundle_config(), the test's own network namespace joined by path, and a
// node-scoped runc root. What a container sees (its user, its root, its read-only binds, Docker's
// capabilities), its exit codes and signals, an httpd answering in the netns, and that nothing is
// left once it is deleted and its overlay released: no mount, no runc state, no cgroup directory
// in any hierarchy (cgroup v1 ones included on a hybrid host).
//
// runc runs from the test's (the node's) mount namespace, never under `ip netns exec`, whose
// fresh /sys hides the cgroup hierarchies; the netns is given to runc by its path.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/unique_fd.h"
#include "control/runtime/oci/bundle_config.h"
#include "control/runtime/oci/cgroup_cleanup.h"
#include "control/runtime/oci/rootfs_mount.h"
#include "control/runtime/oci/runc.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testbed.h"

namespace shoal::runtime::oci {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using shoal::testing::run_command;
using shoal::testing::TempDir;

constexpr const char* kRunc = "/usr/sbin/runc";
constexpr const char* kResolvConf = "nameserver 10.0.9.53\noptions ndots:0\n";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

// Unique per process and call: parallel runs of this binary never share a name.
std::string unique(const std::string& what) {
  static int counter = 0;
  return "oci" + std::to_string(::getpid()) + "-" + what + std::to_string(++counter);
}

// This run's node: its cgroups sit under /shoal/<node>/, as an agent's would.
std::string node_cgroup() {
  return "/shoal/ocitest-" + std::to_string(::getpid());
}

// The test image, built and unpacked once for the whole binary; and this process made the child
// subreaper, so that detached containers' inits are reaped here.
class ImageEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_TRUE(become_child_subreaper().ok());
    ASSERT_FALSE(dir_.path().empty());
    auto built = run_command({SHOAL_BUILD_TEST_IMAGE, dir_.at("image"), "shoal/httpd:test"}, 60000);
    ASSERT_TRUE(built.ok() && built->exit_code == 0) << (built.ok() ? built->output : "");
    auto unpacked = run_command(
        {"umoci", "raw", "unpack", "--image", dir_.at("image/oci") + ":test", rootfs()}, 60000);
    ASSERT_TRUE(unpacked.ok() && unpacked->exit_code == 0)
        << (unpacked.ok() ? unpacked->output : "");
  }
  void TearDown() override {
    // The node's cgroup directories, which runc made and no one else uses; and /shoal in the v1
    // hierarchies when empty (only OCI tasks use v1; cgroup2's /shoal is every node's).
    (void)remove_task_cgroups(node_cgroup());
    auto mounts = mounts_under("/");
    for (const auto& m : mounts.ok() ? *mounts : std::vector<MountEntry>{}) {
      if (m.fstype == "cgroup" && m.root == "/")
        ::rmdir((m.mount_point + "/shoal").c_str());
    }
  }
  static std::string rootfs() { return dir_.at("rootfs"); }

 private:
  static inline TempDir dir_{"shoal-oci-image"};
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ImageEnvironment);

// A network namespace of the test's own, with lo up (127.0.0.1), removed whatever happens.
class Netns {
 public:
  Netns() : name_(unique("ns")) {
    auto added = run_command({"ip", "netns", "add", name_});
    ok_ = added.ok() && added->exit_code == 0;
    if (ok_) {
      auto up = run_command({"ip", "-n", name_, "link", "set", "lo", "up"});
      ok_ = up.ok() && up->exit_code == 0;
    }
  }
  ~Netns() { (void)run_command({"ip", "netns", "del", name_}); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

// One container's bundle: a directory, the overlay, the /etc files, a runc root of the test's
// own node; the destructor deletes the container (forced), its cgroups and the overlay.
class Bundle {
 public:
  Bundle() : id_(unique("c")), runc_({kRunc, runc_dir_.at("runc"), 30000ms}) {}
  ~Bundle() {
    (void)runc_.delete_container(id_, true);
    (void)remove_task_cgroups(cgroups_path());
  }
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  // Mounts the overlay and writes the /etc files and config.json.
  void prepare(const Netns& ns, ProcessSpec process, bool readonly_rootfs = false) {
    ASSERT_FALSE(dir_.path().empty());
    auto mounted = RootfsMount::mount(ImageEnvironment::rootfs(), dir_.path());
    ASSERT_TRUE(mounted.ok()) << mounted.error().message();
    rootfs_.emplace(std::move(mounted).value());
    ASSERT_TRUE(write_text(dir_.at("resolv.conf"), kResolvConf));
    ASSERT_TRUE(write_text(dir_.at("hosts"), "127.0.0.1 localhost\n"));
    ASSERT_TRUE(write_text(dir_.at("hostname"), "web-1\n"));
    BundleSpec spec;
    spec.id = id_;
    spec.rootfs = rootfs_->rootfs();
    spec.readonly_rootfs = readonly_rootfs;
    spec.process = std::move(process);
    spec.hostname = "web-1";
    spec.netns_path = ns.path();
    spec.cgroups_path = cgroups_path();
    spec.resolv_conf = dir_.at("resolv.conf");
    spec.hosts = dir_.at("hosts");
    spec.hostname_file = dir_.at("hostname");
    auto config = bundle_config(spec);
    ASSERT_TRUE(config.ok()) << config.error().message();
    ASSERT_TRUE(write_bundle_config(dir_.path(), *config).ok());
  }

  // Starts the container detached, stdout and stderr into files of the bundle.
  Result<pid_t> start() {
    out_ =
        UniqueFd(::open(dir_.at("stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    err_ =
        UniqueFd(::open(dir_.at("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    return runc_.run_detached(id_, dir_.path(), {-1, out_.get(), err_.get()});
  }

  // Runs the container to its end: its exit status, then deleted.
  Result<ExitStatus> run_to_end() {
    SHOAL_ASSIGN_OR_RETURN(const pid_t pid, start());
    auto status = wait_for_exit(pid, 30s);
    SHOAL_TRY(runc_.delete_container(id_, !status.ok()));
    return status;
  }

  std::string out() const { return slurp(dir_.at("stdout")); }
  std::string err() const { return slurp(dir_.at("stderr")); }
  std::string cgroups_path() const { return node_cgroup() + "/" + id_; }
  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_.path(); }
  const std::string& runc_root() const { return runc_.options().root; }
  Runc& runc() { return runc_; }
  RootfsMount& rootfs() { return *rootfs_; }

 private:
  TempDir dir_{"shoal-oci-bundle"};
  TempDir runc_dir_{"shoal-oci-node"};
  std::string id_;
  Runc runc_;
  std::optional<RootfsMount> rootfs_;  // declared after dir_: released before it is removed
  UniqueFd out_;
  UniqueFd err_;
};

ProcessSpec process(std::vector<std::string> argv, uint32_t uid = 0, uint32_t gid = 0) {
  ProcessSpec p;
  p.argv = std::move(argv);
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web-1"};
  p.uid = uid;
  p.gid = gid;
  // Within this process's own hard limit (root may lack CAP_SYS_RESOURCE to raise it).
  rlimit own{};
  ::getrlimit(RLIMIT_NOFILE, &own);
  p.nofile = Rlimit{std::min<uint64_t>(1024, own.rlim_max), own.rlim_max};
  return p;
}

class RuncBundle : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ns_.ok()) << "ip netns add " << ns_.name(); }
  Netns ns_;
};

// Runs argv in a fresh container and expects exit 0; its stdout.
std::string output_of(const Netns& ns, ProcessSpec p) {
  Bundle bundle;
  bundle.prepare(ns, std::move(p));
  if (::testing::Test::HasFatalFailure())
    return {};
  auto status = bundle.run_to_end();
  EXPECT_TRUE(status.ok()) << status.error().message() << "\n" << bundle.err();
  if (status.ok()) {
    EXPECT_EQ(status->code, 0) << bundle.err();
  }
  return bundle.out();
}

TEST_F(RuncBundle, IdShowsTheUserAndGroupsAsked) {
  ProcessSpec p = process({"id"}, 33, 33);
  p.additional_gids = {65534};
  const std::string out = output_of(ns_, p);
  EXPECT_NE(out.find("uid=33(www) gid=33(www)"), std::string::npos) << out;
  EXPECT_NE(out.find("65534(nogroup)"), std::string::npos) << out;
}

TEST_F(RuncBundle, ResolvConfIsTheBoundOneAndReadOnly) {
  const std::string out = output_of(
      ns_, process({"sh", "-c",
                    "cat /etc/resolv.conf; echo evil >> /etc/resolv.conf && echo WROTE || echo "
                    "REFUSED; cat /etc/hostname; hostname; ulimit -n"}));
  EXPECT_EQ(out, std::string(kResolvConf) + "REFUSED\nweb-1\nweb-1\n1024\n");
}

TEST_F(RuncBundle, SeesTheImagesRootNotTheHosts) {
  const std::string out = output_of(ns_, process({"ls", "/"}));
  EXPECT_NE(out.find("www\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("work\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("home\n"), std::string::npos) << out;
}

TEST_F(RuncBundle, CapabilitiesAreDockersDefault) {
  const std::string out =
      output_of(ns_, process({"grep", "^Cap\\|^NoNewPrivs\\|^Seccomp:", "/proc/self/status"}));
  EXPECT_NE(out.find("CapEff:\t00000000a80425fb"), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:\t00000000a80425fb"), std::string::npos) << out;
  EXPECT_NE(out.find("CapInh:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("CapAmb:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
  EXPECT_NE(out.find("Seccomp:\t2"), std::string::npos) << out;
}

TEST_F(RuncBundle, SeccompRefusesNamespacesAndMountsFail) {
  // unshare -n needs CLONE_NEWNET: the filter answers EPERM (no SYS_ADMIN either).
  const std::string out = output_of(
      ns_, process({"sh", "-c",
                    "unshare -n true 2>/dev/null && echo UNSHARED || echo REFUSED; "
                    "mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED || echo REFUSED"}));
  EXPECT_EQ(out, "REFUSED\nREFUSED\n");
}

TEST_F(RuncBundle, ExitCodeComesBackDetachedAndInTheForeground) {
  {
    Bundle bundle;
    bundle.prepare(ns_, process({"sh", "-c", "exit 7"}));
    auto status = bundle.run_to_end();
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(status->code, 7);
  }
  {
    Bundle bundle;
    bundle.prepare(ns_, process({"sh", "-c", "exit 7"}));
    auto code = bundle.runc().run(bundle.id(), bundle.dir(), {}, 30s);
    ASSERT_TRUE(code.ok()) << code.error().message();
    EXPECT_EQ(*code, 7);
  }
}

// Informational: start to exit of `true`, five times each way: `runc run` in the foreground (the
// benchmark's by-hand baseline), and detached + reaped here + `runc delete` (a task's path).
TEST_F(RuncBundle, RunOfTrueTakes) {
  Bundle bundle;
  bundle.prepare(ns_, process({"true"}));
  auto report = [](const char* what, std::vector<long long> ms) {
    std::sort(ms.begin(), ms.end());
    std::cout << what << ": min " << ms.front() << " ms, median " << ms[ms.size() / 2]
              << " ms, max " << ms.back() << " ms\n";
  };
  auto since = [](Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };
  std::vector<long long> foreground;
  std::vector<long long> detached;
  for (int i = 0; i < 5; ++i) {
    auto start = Clock::now();
    auto code = bundle.runc().run(bundle.id(), bundle.dir(), {}, 30s);
    foreground.push_back(since(start));
    ASSERT_TRUE(code.ok()) << code.error().message();
    EXPECT_EQ(*code, 0);
    start = Clock::now();
    auto status = bundle.run_to_end();
    detached.push_back(since(start));
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(status->code, 0);
  }
  report("runc run (foreground) of true", foreground);
  report("runc run --detach + reap + runc delete of true", detached);
}

TEST_F(RuncBundle, KillWithTermAndWithKill) {
  {
    // sh as PID 1 with a TERM handler: SIGTERM reaches it.
    Bundle bundle;
    bundle.prepare(ns_, process({"sh", "-c", "trap 'exit 3' TERM; sleep 1000 & wait"}));
    auto pid = bundle.start();
    ASSERT_TRUE(pid.ok()) << pid.error().message() << "\n" << bundle.err();
    auto state = bundle.runc().state(bundle.id());
    ASSERT_TRUE(state.ok() && state->has_value())
        << (state.ok() ? "none" : state.error().message());
    EXPECT_EQ((*state)->status, "running");
    EXPECT_EQ((*state)->pid, *pid);
    // The trap is set once sh runs it; give it a moment, then TERM.
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(bundle.runc().kill(bundle.id(), SIGTERM).ok());
    auto status = wait_for_exit(*pid, 10s);
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(status->code, 3);
    EXPECT_TRUE(bundle.runc().delete_container(bundle.id(), false).ok());
  }
  {
    // sleep as PID 1 ignores SIGTERM (no handler); SIGKILL ends it.
    Bundle bundle;
    bundle.prepare(ns_, process({"sleep", "1000"}));
    auto pid = bundle.start();
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    ASSERT_TRUE(bundle.runc().kill(bundle.id(), SIGKILL).ok());
    auto status = wait_for_exit(*pid, 10s);
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(status->signal, SIGKILL);
    auto stopped = bundle.runc().state(bundle.id());
    ASSERT_TRUE(stopped.ok() && stopped->has_value());
    EXPECT_EQ((*stopped)->status, "stopped");
    // Killing a stopped container: ESRCH, with runc's words.
    auto again = bundle.runc().kill(bundle.id(), SIGKILL);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().errnum, ESRCH) << again.error().message();
    EXPECT_TRUE(bundle.runc().delete_container(bundle.id(), false).ok());
    auto gone = bundle.runc().state(bundle.id());
    ASSERT_TRUE(gone.ok()) << gone.error().message();
    EXPECT_FALSE(gone->has_value());
  }
}

TEST_F(RuncBundle, HttpdAnswersInTheTasksNetns) {
  Bundle bundle;
  ProcessSpec p = process({"httpd", "-f", "-p", "80", "-h", "/www"});
  p.cwd = "/www";
  bundle.prepare(ns_, p);
  auto pid = bundle.start();
  ASSERT_TRUE(pid.ok()) << pid.error().message() << "\n" << bundle.err();
  std::string answer;
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    auto got = run_command(
        {"ip", "netns", "exec", ns_.name(), "curl", "-sS", "--max-time", "2", "http://127.0.0.1/"});
    if (got.ok() && got->exit_code == 0) {
      answer = got->output;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(answer.find("Hello from the shoal test image."), std::string::npos) << answer;
  // Not on the host's loopback: the container is in the task's netns only.
  auto host = run_command({"curl", "-sS", "--max-time", "1", "http://127.0.0.1:80/"});
  EXPECT_TRUE(!host.ok() || host->output.find("shoal test image") == std::string::npos);
  ASSERT_TRUE(bundle.runc().kill(bundle.id(), SIGKILL).ok());
  EXPECT_TRUE(wait_for_exit(*pid, 10s).ok());
}

TEST_F(RuncBundle, WritesGoToTheUpperDirAndReadOnlyRootRefusesThem) {
  {
    Bundle bundle;
    bundle.prepare(ns_, process({"sh", "-c", "echo hi > /written"}));
    auto status = bundle.run_to_end();
    ASSERT_TRUE(status.ok() && status->code == 0) << bundle.err();
    EXPECT_EQ(slurp(bundle.rootfs().upper() + "/written"), "hi\n");
    EXPECT_FALSE(std::filesystem::exists(ImageEnvironment::rootfs() + "/written"));
  }
  {
    Bundle bundle;
    bundle.prepare(ns_, process({"sh", "-c", "echo hi > /written"}), true);
    auto status = bundle.run_to_end();
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_NE(status->code, 0);
    EXPECT_NE(bundle.err().find("Read-only file system"), std::string::npos) << bundle.err();
  }
}

TEST_F(RuncBundle, TheContainerIsInItsCgroupWhileItRuns) {
  Bundle bundle;
  bundle.prepare(ns_, process({"sleep", "1000"}));
  auto pid = bundle.start();
  ASSERT_TRUE(pid.ok()) << pid.error().message();
  auto dirs = task_cgroup_dirs(bundle.cgroups_path());
  ASSERT_TRUE(dirs.ok()) << dirs.error().message();
  EXPECT_FALSE(dirs->empty());
  // In every hierarchy; in cgroup2's (where the node's eBPF connect hooks are attached to
  // /shoal/<node>) on a hybrid host too.
  auto mounts = mounts_under("/");
  ASSERT_TRUE(mounts.ok());
  std::string cgroup2;
  for (const auto& m : *mounts) {
    if (m.fstype == "cgroup2" && m.root == "/")
      cgroup2 = m.mount_point;
  }
  ASSERT_FALSE(cgroup2.empty());
  size_t holding = 0;
  for (const auto& dir : *dirs) {
    std::cout << "cgroup: " << dir << "\n";
    if (slurp(dir + "/cgroup.procs").find(std::to_string(*pid)) != std::string::npos)
      ++holding;
  }
  EXPECT_EQ(holding, dirs->size());
  EXPECT_NE(slurp(cgroup2 + bundle.cgroups_path() + "/cgroup.procs").find(std::to_string(*pid)),
            std::string::npos);
  // A live container's cgroup is not removed.
  auto removed = remove_task_cgroups(bundle.cgroups_path());
  EXPECT_FALSE(removed.ok());
  ASSERT_TRUE(bundle.runc().kill(bundle.id(), SIGKILL).ok());
  EXPECT_TRUE(wait_for_exit(*pid, 10s).ok());
}

// After the container is deleted: what runc left of its cgroup (printed: on this hybrid host,
// empty v1 directories in some paths), then, after remove_task_cgroups() and the overlay's
// release, nothing: no cgroup directory in any hierarchy, no runc state, no mount, no layer dir.
void expect_nothing_left(Bundle& bundle, const std::string& how) {
  auto left = task_cgroup_dirs(bundle.cgroups_path());
  ASSERT_TRUE(left.ok()) << left.error().message();
  for (const auto& dir : *left)
    std::cout << how << ": left by runc: " << dir << "\n";
  ASSERT_TRUE(remove_task_cgroups(bundle.cgroups_path()).ok());
  auto after = task_cgroup_dirs(bundle.cgroups_path());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty()) << how;
  // The node's directories (parents runc made with the task's) stay for the node's other tasks.
  auto node = task_cgroup_dirs(node_cgroup());
  ASSERT_TRUE(node.ok());
  for (const auto& dir : *node)
    std::cout << how << ": the node's: " << dir << "\n";

  auto ids = bundle.runc().list();
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  EXPECT_TRUE(ids->empty()) << how;
  std::error_code error;
  if (std::filesystem::exists(bundle.runc_root())) {
    EXPECT_TRUE(std::filesystem::is_empty(bundle.runc_root(), error)) << how;
  }

  ASSERT_TRUE(bundle.rootfs().release().ok());
  auto mounts = mounts_under(bundle.dir());
  ASSERT_TRUE(mounts.ok());
  EXPECT_TRUE(mounts->empty()) << how;
  for (const char* name : {"rootfs", "upper", "work"})
    EXPECT_FALSE(std::filesystem::exists(bundle.dir() + "/" + name)) << how << ": " << name;
  // The image's rootfs is untouched.
  EXPECT_FALSE(std::filesystem::exists(ImageEnvironment::rootfs() + "/tmp/x")) << how;
}

TEST_F(RuncBundle, NothingIsLeftAfterARunningContainerIsForceDeleted) {
  Bundle bundle;
  bundle.prepare(ns_, process({"sh", "-c", "echo x > /tmp/x; sleep 1000"}));
  auto pid = bundle.start();
  ASSERT_TRUE(pid.ok()) << pid.error().message();
  ASSERT_TRUE(bundle.runc().delete_container(bundle.id(), true).ok());
  auto status = wait_for_exit(*pid, 10s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->signal, SIGKILL);
  expect_nothing_left(bundle, "delete --force of a running container");
}

TEST_F(RuncBundle, NothingIsLeftAfterAnExitedContainerIsDeleted) {
  Bundle bundle;
  bundle.prepare(ns_, process({"sh", "-c", "echo x > /tmp/x"}));
  auto status = bundle.run_to_end();
  ASSERT_TRUE(status.ok()) << status.error().message();
  expect_nothing_left(bundle, "delete of an exited container");
}

TEST_F(RuncBundle, NothingIsLeftAfterAForegroundRun) {
  Bundle bundle;
  bundle.prepare(ns_, process({"sh", "-c", "echo x > /tmp/x"}));
  auto code = bundle.runc().run(bundle.id(), bundle.dir(), {}, 30s);
  ASSERT_TRUE(code.ok()) << code.error().message();
  expect_nothing_left(bundle, "foreground run");
}

TEST_F(RuncBundle, NothingIsLeftAfterAKilledContainerIsDeleted) {
  Bundle bundle;
  bundle.prepare(ns_, process({"sleep", "1000"}));
  auto pid = bundle.start();
  ASSERT_TRUE(pid.ok()) << pid.error().message();
  ASSERT_TRUE(bundle.runc().kill(bundle.id(), SIGKILL).ok());
  ASSERT_TRUE(wait_for_exit(*pid, 10s).ok());
  ASSERT_TRUE(bundle.runc().delete_container(bundle.id(), false).ok());
  expect_nothing_left(bundle, "kill, then delete");
}

TEST_F(RuncBundle, AMissingExecutableIsRuncsErrorAndCleansUp) {
  Bundle bundle;
  bundle.prepare(ns_, process({"/no/such/program"}));
  auto pid = bundle.start();
  ASSERT_FALSE(pid.ok());
  std::cout << "a missing executable: " << pid.error().message() << "\n";
  EXPECT_NE(pid.error().message().find("/no/such/program"), std::string::npos)
      << pid.error().message();
  ASSERT_TRUE(bundle.runc().delete_container(bundle.id(), true).ok());
  expect_nothing_left(bundle, "failed start");
}

// remove_task_cgroups() on leftovers made by hand in every hierarchy, nested: children first,
// and the node's directory with the other tasks' stays.
TEST(CgroupCleanup, RemovesTheTaskDirectoriesInEveryHierarchy) {
  const std::string task = node_cgroup() + "/" + unique("leftover");
  const std::string other = node_cgroup() + "/" + unique("other");
  auto mounts = mounts_under("/");
  ASSERT_TRUE(mounts.ok());
  std::vector<std::string> made;
  for (const auto& m : *mounts) {
    if ((m.fstype != "cgroup" && m.fstype != "cgroup2") || m.root != "/")
      continue;
    std::error_code error;
    std::filesystem::create_directories(m.mount_point + task + "/child/grandchild", error);
    std::filesystem::create_directories(m.mount_point + other, error);
    if (!error)
      made.push_back(m.mount_point);
  }
  ASSERT_FALSE(made.empty());
  auto dirs = task_cgroup_dirs(task);
  ASSERT_TRUE(dirs.ok()) << dirs.error().message();
  EXPECT_EQ(dirs->size(), 3 * made.size());
  // Deepest first.
  ASSERT_FALSE(dirs->empty());
  EXPECT_NE(dirs->front().find("grandchild"), std::string::npos) << dirs->front();
  ASSERT_TRUE(remove_task_cgroups(task).ok());
  dirs = task_cgroup_dirs(task);
  ASSERT_TRUE(dirs.ok());
  EXPECT_TRUE(dirs->empty());
  for (const auto& mount_point : made)
    EXPECT_TRUE(std::filesystem::exists(mount_point + other)) << mount_point;
  EXPECT_TRUE(remove_task_cgroups(other).ok());
  EXPECT_TRUE(remove_task_cgroups(task).ok());  // nothing there: fine
  EXPECT_FALSE(remove_task_cgroups("relative/path").ok());
  EXPECT_FALSE(remove_task_cgroups("/shoal/../..").ok());
}

TEST(RootfsMount, AdoptsTheMountAlreadyThere) {
  TempDir bundle("shoal-oci-adopt");
  auto first = RootfsMount::mount(ImageEnvironment::rootfs(), bundle.path());
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_FALSE(first->adopted());
  ASSERT_TRUE(write_text(first->rootfs() + "/kept", "upper\n"));
  // An agent stopped while the task runs: the mount stays.
  first->leave_mounted();
  first = RootfsMount::mount(ImageEnvironment::rootfs(), bundle.path());
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_TRUE(first->adopted());
  // An agent restarted: the same task's overlay is found, not stacked.
  auto second = RootfsMount::mount(ImageEnvironment::rootfs(), bundle.path());
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_TRUE(second->adopted());
  auto mounts = mounts_under(bundle.path());
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(mounts->size(), 1u);
  EXPECT_EQ(slurp(second->rootfs() + "/kept"), "upper\n");
  ASSERT_TRUE(second->release().ok());
  mounts = mounts_under(bundle.path());
  ASSERT_TRUE(mounts.ok());
  EXPECT_TRUE(mounts->empty());
  EXPECT_TRUE(first->release().ok());  // already gone: fine
  EXPECT_FALSE(std::filesystem::exists(bundle.at("upper")));
}

TEST(RootfsMount, RefusesAnotherMountAndBadPathsNamingThem) {
  TempDir bundle("shoal-oci-refuse");
  ASSERT_EQ(::mkdir(bundle.at("rootfs").c_str(), 0755), 0);
  auto tmpfs = run_command({"mount", "-t", "tmpfs", "none", bundle.at("rootfs")});
  ASSERT_TRUE(tmpfs.ok() && tmpfs->exit_code == 0);
  auto refused = RootfsMount::mount(ImageEnvironment::rootfs(), bundle.path());
  (void)run_command({"umount", bundle.at("rootfs")});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find(bundle.at("rootfs")), std::string::npos)
      << refused.error().message();

  auto missing = RootfsMount::mount(bundle.at("no-such-image"), bundle.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("no-such-image"), std::string::npos);

  TempDir odd("shoal-oci,odd");
  auto comma = RootfsMount::mount(ImageEnvironment::rootfs(), odd.path());
  ASSERT_FALSE(comma.ok());
  EXPECT_NE(comma.error().message().find("shoal-oci,odd"), std::string::npos);
}

TEST(Runc, ErrorsCarryRuncsWords) {
  TempDir node("shoal-oci-errors");
  Runc runc({kRunc, node.at("runc"), 10000ms});
  // A bundle with no config.json.
  auto run = runc.run_detached("no-config", node.path(), {});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message().find("config.json"), std::string::npos) << run.error().message();
  std::cout << "no config.json: " << run.error().message() << "\n";
  auto killed = runc.kill("no-such-container", SIGTERM);
  ASSERT_FALSE(killed.ok());
  std::cout << "kill of a missing container: " << killed.error().message() << "\n";
  EXPECT_EQ(killed.error().errnum, ENOENT) << killed.error().message();
  EXPECT_TRUE(runc.delete_container("no-such-container", false).ok());
  auto state = runc.state("no-such-container");
  ASSERT_TRUE(state.ok()) << state.error().message();
  EXPECT_FALSE(state->has_value());
  Runc missing({"/nonexistent/runc", node.at("runc"), 1000ms});
  auto spawn = missing.kill("x", SIGTERM);
  ASSERT_FALSE(spawn.ok());
  EXPECT_NE(spawn.error().message().find("/nonexistent/runc"), std::string::npos);
}

}  // namespace
}  // namespace shoal::runtime::oci
