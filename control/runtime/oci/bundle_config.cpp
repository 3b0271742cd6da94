#include "control/runtime/oci/bundle_config.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "common/atomic_file.h"
#include "control/runtime/confine.h"

namespace shoal::runtime::oci {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdLength = 128;
constexpr std::string_view kOciVersion = "1.0.2";

// Capability names by number (linux/capability.h), as OCI spells them. A fact of the kernel's
// ABI; which of them a task keeps is confine.h's mask.
constexpr std::string_view kCapabilityNames[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// Docker's (moby oci/defaults.go): what a container must not read or write of the host's
// kernel through /proc and /sys.
constexpr std::string_view kMaskedPaths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
constexpr std::string_view kReadonlyPaths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

const char* action_name(SeccompAction action) {
  switch (action) {
    case SeccompAction::kAllow:
      return "SCMP_ACT_ALLOW";
    case SeccompAction::kErrno:
      return "SCMP_ACT_ERRNO";
    case SeccompAction::kKillProcess:
      return "SCMP_ACT_KILL_PROCESS";
  }
  return "SCMP_ACT_KILL_PROCESS";  // unreachable; the strictest if it were not
}

const char* op_name(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNotEqual:
      return "SCMP_CMP_NE";
    case SeccompOp::kLessThan:
      return "SCMP_CMP_LT";
    case SeccompOp::kLessOrEqual:
      return "SCMP_CMP_LE";
    case SeccompOp::kEqualTo:
      return "SCMP_CMP_EQ";
    case SeccompOp::kGreaterOrEqual:
      return "SCMP_CMP_GE";
    case SeccompOp::kGreaterThan:
      return "SCMP_CMP_GT";
    case SeccompOp::kMaskedEqual:
      return "SCMP_CMP_MASKED_EQ";
  }
  return "SCMP_CMP_EQ";
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// Absolute, and no "." or ".." component that could lead a mount or a cgroup elsewhere.
bool clean_absolute(std::string_view path) {
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string_view::npos)
    return false;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part == "." || part == "..")
      return false;
    start = end + 1;
  }
  return true;
}

bool under(std::string_view path, std::string_view dir) {
  return path == dir ||
         (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

Status check_process(const ProcessSpec& process) {
  if (process.argv.empty() || process.argv[0].empty())
    return invalid_argument("process.args", "no command to run");
  for (const auto& entry : process.env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid_argument("process.env entry '" + entry + "'", "not NAME=value");
  }
  if (!clean_absolute(process.cwd))
    return invalid_argument("process.cwd '" + process.cwd + "'", "not a clean absolute path");
  if (process.nofile && process.nofile->soft > process.nofile->hard)
    return invalid_argument("RLIMIT_NOFILE", "soft limit above the hard limit");
  return {};
}

Status check_bind(const BindFile& bind) {
  if (!clean_absolute(bind.source))
    return invalid_argument("bind source '" + bind.source + "'", "not a clean absolute path");
  if (!clean_absolute(bind.target) || bind.target == "/")
    return invalid_argument("bind target '" + bind.target + "'", "not a clean absolute path");
  for (std::string_view kernel_dir : {"/proc", "/sys", "/dev"}) {
    if (under(bind.target, kernel_dir))
      return invalid_argument("bind target '" + bind.target + "'",
                              "under " + std::string(kernel_dir));
  }
  return {};
}

// The read-only binds, /etc files first, in the order runc mounts them.
std::vector<BindFile> binds_of(const BundleSpec& spec) {
  std::vector<BindFile> binds;
  if (!spec.resolv_conf.empty())
    binds.push_back({spec.resolv_conf, "/etc/resolv.conf"});
  if (!spec.hosts.empty())
    binds.push_back({spec.hosts, "/etc/hosts"});
  if (!spec.hostname_file.empty())
    binds.push_back({spec.hostname_file, "/etc/hostname"});
  binds.insert(binds.end(), spec.files.begin(), spec.files.end());
  return binds;
}

Status check_spec(const BundleSpec& spec) {
  if (!valid_id(spec.id))
    return invalid_argument("container id '" + spec.id + "'",
                            "not [A-Za-z0-9][A-Za-z0-9_.-]* of at most 128 characters");
  if (spec.rootfs.empty() || spec.rootfs.find('\0') != std::string::npos)
    return invalid_argument("root.path", "empty");
  SHOAL_TRY(check_process(spec.process));
  if (!clean_absolute(spec.netns_path))
    return invalid_argument("network namespace path '" + spec.netns_path + "'",
                            "not a clean absolute path (a task joins its own netns, never a new "
                            "one)");
  if (!clean_absolute(spec.cgroups_path) || spec.cgroups_path == "/")
    return invalid_argument("cgroupsPath '" + spec.cgroups_path + "'",
                            "not a clean absolute path below the hierarchy's root");
  for (const auto& bind : binds_of(spec))
    SHOAL_TRY(check_bind(bind));
  return {};
}

json mount(std::string_view destination, std::string_view type, std::string_view source,
           std::vector<std::string> options) {
  return {{"destination", destination},
          {"type", type},
          {"source", source},
          {"options", std::move(options)}};
}

// Docker's default mounts (moby oci/defaults.go; /dev/shm at Docker's default 64 MiB).
json default_mounts() {
  json mounts = json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  mounts.push_back(
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  return mounts;
}

// A file bound read-only; rprivate so that nothing mounted later on the host side propagates.
json read_only_bind(const BindFile& bind) {
  return mount(bind.target, "bind", bind.source,
               {"rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"});
}

json capabilities() {
  const std::vector<std::string> names = default_capability_names();
  // Inheritable and ambient stay empty, as Docker's: an exec'd program keeps only what its
  // file capabilities and the bounding set allow, and a non-root user gets none effective.
  return {{"bounding", names}, {"effective", names}, {"permitted", names}};
}

json process_json(const ProcessSpec& process) {
  json user = {{"uid", process.uid}, {"gid", process.gid}};
  if (!process.additional_gids.empty())
    user["additionalGids"] = process.additional_gids;
  json result = {
      {"terminal", false},       {"user", std::move(user)}, {"args", process.argv},
      {"env", process.env},      {"cwd", process.cwd},      {"capabilities", capabilities()},
      {"noNewPrivileges", true},
  };
  if (process.nofile) {
    result["rlimits"] = json::array({{{"type", "RLIMIT_NOFILE"},
                                      {"soft", process.nofile->soft},
                                      {"hard", process.nofile->hard}}});
  }
  return result;
}

json namespaces(const std::string& netns_path) {
  return json::array({{{"type", "pid"}},
                      {{"type", "ipc"}},
                      {{"type", "uts"}},
                      {{"type", "mount"}},
                      {{"type", "cgroup"}},
                      {{"type", "network"}, {"path", netns_path}}});
}

json linux_section(const BundleSpec& spec) {
  std::vector<std::string> masked(std::begin(kMaskedPaths), std::end(kMaskedPaths));
  std::vector<std::string> readonly(std::begin(kReadonlyPaths), std::end(kReadonlyPaths));
  return {
      {"namespaces", namespaces(spec.netns_path)},
      {"cgroupsPath", spec.cgroups_path},
      // Every device refused; runc adds its own allow rules for the few it creates in /dev
      // (null, zero, full, random, urandom, tty, ptmx and the devpts), as for Docker.
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"maskedPaths", std::move(masked)},
      {"readonlyPaths", std::move(readonly)},
      {"seccomp", seccomp_to_oci(default_seccomp_profile())},
  };
}

}  // namespace

std::vector<std::string> default_capability_names() {
  const uint64_t mask = default_capabilities();
  std::vector<std::string> names;
  for (size_t cap = 0; cap < std::size(kCapabilityNames); ++cap) {
    if (mask >> cap & 1)
      names.emplace_back(kCapabilityNames[cap]);
  }
  return names;
}

nlohmann::json seccomp_to_oci(const SeccompProfile& profile) {
  json syscalls = json::array();
  for (const auto& rule : profile.syscalls) {
    json entry = {{"names", rule.names}, {"action", action_name(rule.action)}};
    if (rule.action == SeccompAction::kErrno)
      entry["errnoRet"] = rule.errno_ret;
    if (!rule.args.empty()) {
      json args = json::array();
      for (const auto& arg : rule.args) {
        args.push_back({{"index", arg.index},
                        {"value", arg.value},
                        {"valueTwo", arg.value_two},
                        {"op", op_name(arg.op)}});
      }
      entry["args"] = std::move(args);
    }
    syscalls.push_back(std::move(entry));
  }
  json seccomp = {{"defaultAction", action_name(profile.default_action)},
                  {"architectures", profile.architectures},
                  {"syscalls", std::move(syscalls)}};
  if (profile.default_action == SeccompAction::kErrno)
    seccomp["defaultErrnoRet"] = profile.default_errno_ret;
  return seccomp;
}

Result<nlohmann::json> bundle_config(const BundleSpec& spec) {
  SHOAL_TRY(check_spec(spec));
  json mounts = default_mounts();
  for (const auto& bind : binds_of(spec))
    mounts.push_back(read_only_bind(bind));
  json annotations = json::object();
  for (const auto& [key, value] : spec.annotations)
    annotations[key] = value;
  json config = {
      {"ociVersion", kOciVersion},
      {"process", process_json(spec.process)},
      {"root", {{"path", spec.rootfs}, {"readonly", spec.readonly_rootfs}}},
      {"hostname", spec.hostname.empty() ? spec.id.substr(0, 12) : spec.hostname},
      {"mounts", std::move(mounts)},
      {"linux", linux_section(spec)},
  };
  if (!annotations.empty())
    config["annotations"] = std::move(annotations);
  return config;
}

Status write_bundle_config(const std::string& bundle_dir, const nlohmann::json& config) {
  // Atomic, so that runc never reads half of one; not durable: a bundle means nothing after a
  // reboot (its overlay and netns are gone too).
  return write_file_atomically(bundle_dir + "/config.json", config.dump(2) + "\n", 0600,
                               Durability::kAtomicOnly);
}

}  // namespace shoal::runtime::oci
