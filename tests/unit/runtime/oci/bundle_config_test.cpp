// The bundle's config.json for an image task (control/runtime/oci/bundle_config.h): Docker's
// default capabilities, mounts, masked and read-only paths and namespaces; the task's netns
// joined by path; binds read-only; the tasks' seccomp profile converted rule for rule; the
// cgroup path; and the refusals of what would point a mount or a cgroup elsewhere.
#include "control/runtime/oci/bundle_config.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>

#include "control/runtime/confine.h"
#include "control/runtime/seccomp_profile.h"
#include "tests/support/temp_dir.h"

namespace shoal::runtime::oci {
namespace {

using nlohmann::json;

BundleSpec sample() {
  BundleSpec spec;
  spec.id = "task-4xjt";
  spec.process.argv = {"httpd", "-f", "-p", "80"};
  spec.process.env = {"PATH=/usr/bin:/bin", "HOSTNAME=web-1"};
  spec.process.cwd = "/www";
  spec.process.uid = 33;
  spec.process.gid = 33;
  spec.process.additional_gids = {100, 101};
  spec.process.nofile = Rlimit{1024, 4096};
  spec.hostname = "web-1";
  spec.netns_path = "/run/netns/shoal-n1-task-4xjt";
  spec.cgroups_path = "/shoal/n1/task-4xjt";
  spec.resolv_conf = "/var/lib/shoal/tasks/task-4xjt/resolv.conf";
  spec.hosts = "/var/lib/shoal/tasks/task-4xjt/hosts";
  spec.hostname_file = "/var/lib/shoal/tasks/task-4xjt/hostname";
  spec.files = {{"/var/lib/shoal/tasks/task-4xjt/config-0", "/etc/app/app.conf"}};
  return spec;
}

json config_of(const BundleSpec& spec) {
  auto config = bundle_config(spec);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message());
  return config.ok() ? *config : json::object();
}

const json* mount_at(const json& config, const std::string& destination) {
  for (const auto& m : config["mounts"]) {
    if (m["destination"] == destination)
      return &m;
  }
  return nullptr;
}

bool has_option(const json& mount, const std::string& option) {
  const auto& options = mount["options"];
  return std::find(options.begin(), options.end(), option) != options.end();
}

std::string refusal(const BundleSpec& spec) {
  auto config = bundle_config(spec);
  return config.ok() ? "" : config.error().message();
}

TEST(BundleConfig, CapabilitiesAreExactlyDockersFourteenWithoutInheritableOrAmbient) {
  const json caps = config_of(sample())["process"]["capabilities"];
  const std::set<std::string> docker = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  for (const char* set : {"bounding", "effective", "permitted"}) {
    const auto names = caps[set].get<std::vector<std::string>>();
    EXPECT_EQ(names.size(), 14u) << set;
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), docker) << set;
  }
  EXPECT_FALSE(caps.contains("inheritable"));
  EXPECT_FALSE(caps.contains("ambient"));
  EXPECT_EQ(default_capabilities(), 0x00000000a80425fbull);
}

TEST(BundleConfig, ProcessIsTheTasks) {
  const json process = config_of(sample())["process"];
  EXPECT_EQ(process["args"], json({"httpd", "-f", "-p", "80"}));
  EXPECT_EQ(process["env"], json({"PATH=/usr/bin:/bin", "HOSTNAME=web-1"}));
  EXPECT_EQ(process["cwd"], "/www");
  EXPECT_EQ(process["user"], json({{"uid", 33}, {"gid", 33}, {"additionalGids", {100, 101}}}));
  EXPECT_EQ(process["terminal"], false);
  EXPECT_EQ(process["noNewPrivileges"], true);
  ASSERT_EQ(process["rlimits"].size(), 1u);
  EXPECT_EQ(process["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(process["rlimits"][0]["soft"], 1024);
  EXPECT_EQ(process["rlimits"][0]["hard"], 4096);
}

TEST(BundleConfig, NoRlimitIsTheCallersLimit) {
  BundleSpec spec = sample();
  spec.process.nofile.reset();
  EXPECT_FALSE(config_of(spec)["process"].contains("rlimits"));
}

TEST(BundleConfig, NoAdditionalGidsIsNoField) {
  BundleSpec spec = sample();
  spec.process.additional_gids.clear();
  EXPECT_FALSE(config_of(spec)["process"]["user"].contains("additionalGids"));
}

TEST(BundleConfig, NamespacesJoinTheTasksNetnsByPathAndNoUserNamespace) {
  const json namespaces = config_of(sample())["linux"]["namespaces"];
  std::set<std::string> types;
  for (const auto& ns : namespaces) {
    types.insert(ns["type"].get<std::string>());
    if (ns["type"] == "network") {
      EXPECT_EQ(ns["path"], "/run/netns/shoal-n1-task-4xjt");
    } else {
      EXPECT_FALSE(ns.contains("path")) << ns.dump();
    }
  }
  EXPECT_EQ(types, (std::set<std::string>{"pid", "ipc", "uts", "mount", "cgroup", "network"}));
  EXPECT_EQ(namespaces.size(), 6u);
}

TEST(BundleConfig, MaskedAndReadonlyPathsAreDockers) {
  const json linux = config_of(sample())["linux"];
  const auto masked = linux["maskedPaths"].get<std::set<std::string>>();
  for (const char* path : {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                           "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                           "/proc/sched_debug", "/proc/scsi", "/sys/firmware"})
    EXPECT_TRUE(masked.count(path)) << path;
  EXPECT_EQ(linux["readonlyPaths"].get<std::set<std::string>>(),
            (std::set<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                   "/proc/sysrq-trigger"}));
}

TEST(BundleConfig, DefaultMountsAreDockers) {
  const json config = config_of(sample());
  struct Expected {
    const char* destination;
    const char* type;
    std::vector<const char*> options;
  };
  for (const Expected& e : std::vector<Expected>{
           {"/proc", "proc", {"nosuid", "noexec", "nodev"}},
           {"/dev", "tmpfs", {"nosuid", "mode=755"}},
           {"/dev/pts", "devpts", {"newinstance", "ptmxmode=0666", "gid=5"}},
           {"/dev/shm", "tmpfs", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
           {"/dev/mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
           {"/sys", "sysfs", {"ro", "nosuid", "noexec", "nodev"}},
           {"/sys/fs/cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}}}) {
    const json* m = mount_at(config, e.destination);
    ASSERT_NE(m, nullptr) << e.destination;
    EXPECT_EQ((*m)["type"], e.type) << e.destination;
    for (const char* option : e.options)
      EXPECT_TRUE(has_option(*m, option)) << e.destination << " " << option;
  }
}

TEST(BundleConfig, EtcFilesAndConfigsAreBoundReadOnly) {
  const BundleSpec spec = sample();
  const json config = config_of(spec);
  const std::vector<std::pair<std::string, std::string>> binds = {
      {"/etc/resolv.conf", spec.resolv_conf},
      {"/etc/hosts", spec.hosts},
      {"/etc/hostname", spec.hostname_file},
      {"/etc/app/app.conf", spec.files[0].source}};
  for (const auto& [target, source] : binds) {
    const json* m = mount_at(config, target);
    ASSERT_NE(m, nullptr) << target;
    EXPECT_EQ((*m)["source"], source);
    EXPECT_EQ((*m)["type"], "bind");
    EXPECT_TRUE(has_option(*m, "ro")) << target;
    EXPECT_TRUE(has_option(*m, "rbind")) << target;
    EXPECT_TRUE(has_option(*m, "nosuid")) << target;
  }
  EXPECT_EQ(config["mounts"].size(), 7u + binds.size());
}

TEST(BundleConfig, EmptyEtcFileIsNotBound) {
  BundleSpec spec = sample();
  spec.resolv_conf.clear();
  EXPECT_EQ(mount_at(config_of(spec), "/etc/resolv.conf"), nullptr);
}

TEST(BundleConfig, RootHostnameCgroupAndDevices) {
  BundleSpec spec = sample();
  json config = config_of(spec);
  EXPECT_EQ(config["root"], json({{"path", "rootfs"}, {"readonly", false}}));
  EXPECT_EQ(config["hostname"], "web-1");
  EXPECT_EQ(config["linux"]["cgroupsPath"], "/shoal/n1/task-4xjt");
  EXPECT_EQ(config["linux"]["resources"]["devices"],
            json::array({{{"allow", false}, {"access", "rwm"}}}));
  spec.readonly_rootfs = true;
  spec.hostname.clear();
  config = config_of(spec);
  EXPECT_EQ(config["root"]["readonly"], true);
  EXPECT_EQ(config["hostname"], "task-4xjt");
}

TEST(BundleConfig, SeccompIsTheTaskProfileConverted) {
  const SeccompProfile& profile = default_seccomp_profile();
  const json seccomp = config_of(sample())["linux"]["seccomp"];
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(seccomp["defaultErrnoRet"], EPERM);
  EXPECT_EQ(seccomp["architectures"], json(profile.architectures));
  ASSERT_EQ(seccomp["syscalls"].size(), profile.syscalls.size());
  size_t names = 0;
  for (const auto& rule : seccomp["syscalls"])
    names += rule["names"].size();
  size_t expected_names = 0;
  for (const auto& rule : profile.syscalls)
    expected_names += rule.names.size();
  EXPECT_EQ(names, expected_names);

  // clone: allowed only with no namespace flag, as one masked comparison of argument 0.
  const json* clone = nullptr;
  for (const auto& rule : seccomp["syscalls"]) {
    if (rule["names"] == json({"clone"}))
      clone = &rule;
  }
  ASSERT_NE(clone, nullptr);
  EXPECT_EQ((*clone)["action"], "SCMP_ACT_ALLOW");
  ASSERT_EQ((*clone)["args"].size(), 1u);
  const json& arg = (*clone)["args"][0];
  EXPECT_EQ(arg["index"], 0);
  EXPECT_EQ(arg["op"], "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(arg["value"].get<uint64_t>(),
            uint64_t{CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                     CLONE_NEWPID | CLONE_NEWNET});
  EXPECT_EQ(arg["valueTwo"], 0);

  // clone3 answers ENOSYS; an allow rule carries no errnoRet.
  for (const auto& rule : seccomp["syscalls"]) {
    if (rule["names"] == json({"clone3"})) {
      EXPECT_EQ(rule["action"], "SCMP_ACT_ERRNO");
      EXPECT_EQ(rule["errnoRet"], ENOSYS);
    }
    if (rule["action"] == "SCMP_ACT_ALLOW") {
      EXPECT_FALSE(rule.contains("errnoRet"));
    }
  }
}

TEST(BundleConfig, EveryComparisonHasAnOciName) {
  SeccompProfile profile;
  for (SeccompOp op :
       {SeccompOp::kNotEqual, SeccompOp::kLessThan, SeccompOp::kLessOrEqual, SeccompOp::kEqualTo,
        SeccompOp::kGreaterOrEqual, SeccompOp::kGreaterThan, SeccompOp::kMaskedEqual})
    profile.syscalls.push_back({{"read"}, SeccompAction::kAllow, 0, {{1, 2, 3, op}}});
  profile.default_action = SeccompAction::kKillProcess;
  const json seccomp = seccomp_to_oci(profile);
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_KILL_PROCESS");
  EXPECT_FALSE(seccomp.contains("defaultErrnoRet"));
  std::vector<std::string> ops;
  for (const auto& rule : seccomp["syscalls"])
    ops.push_back(rule["args"][0]["op"].get<std::string>());
  EXPECT_EQ(ops,
            (std::vector<std::string>{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                      "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}));
}

TEST(BundleConfig, AnnotationsAreCarried) {
  BundleSpec spec = sample();
  spec.annotations = {{"com.docker.swarm.task.id", "4xjt"}};
  EXPECT_EQ(config_of(spec)["annotations"], json({{"com.docker.swarm.task.id", "4xjt"}}));
  EXPECT_FALSE(config_of(sample()).contains("annotations"));
}

TEST(BundleConfig, RefusesWhatWouldLeadElsewhere) {
  auto with = [](auto change) {
    BundleSpec spec = sample();
    change(spec);
    return refusal(spec);
  };
  EXPECT_NE(with([](BundleSpec& s) { s.id = "../x"; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.id = ""; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.id = std::string(129, 'a'); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.process.argv.clear(); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.process.env.push_back("NOVALUE"); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.process.cwd = "www"; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.netns_path.clear(); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.netns_path = "/run/netns/../../proc/1/ns/net"; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.cgroups_path = "shoal/n1/t"; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.cgroups_path = "/shoal/../../t"; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.cgroups_path = "/"; }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.files.push_back({"/tmp/x", "/proc/sys/kernel/x"}); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.files.push_back({"/tmp/x", "/dev/sda"}); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.files.push_back({"relative", "/etc/x"}); }), "");
  EXPECT_NE(with([](BundleSpec& s) { s.process.nofile = Rlimit{2, 1}; }), "");
  // The message names what was refused.
  EXPECT_NE(with([](BundleSpec& s) { s.cgroups_path = "rel"; }).find("rel"), std::string::npos);
}

TEST(BundleConfig, WrittenAtomicallyIntoTheBundle) {
  shoal::testing::TempDir dir("shoal-oci-unit");
  ASSERT_FALSE(dir.path().empty());
  const json config = config_of(sample());
  ASSERT_TRUE(write_bundle_config(dir.path(), config).ok());
  std::ifstream in(dir.at("config.json"));
  EXPECT_EQ(json::parse(in), config);
  EXPECT_FALSE(write_bundle_config(dir.at("missing"), config).ok());
}

}  // namespace
}  // namespace shoal::runtime::oci
