// The `config.json` of an OCI runtime bundle for an image task, as a pure function of what the
// agent knows about the task (BundleSpec). runc (runc.h) runs the bundle; the root file system
// is the task's overlay (rootfs_mount.h); the files bound read-only (resolv.conf, hosts,
// hostname, configs) are written into the bundle directory by the caller, only their paths come
// here.
//
// The container gets what a Docker container gets by default, with Shoal's own pieces:
//   - process: the image's and service's argv, env, cwd and user (control/images/
//     container_config.h), no terminal, no_new_privileges, Docker's 14 default capabilities
//     (confine.h) in the bounding, effective and permitted sets (inheritable and ambient empty,
//     as Docker: a non-root user or an exec'd setuid-less program keeps nothing), RLIMIT_NOFILE
//     when asked;
//   - mounts: Docker's defaults (proc, a tmpfs /dev, devpts, /dev/shm, mqueue, a read-only
//     sysfs, a read-only cgroup), then the read-only binds;
//   - Docker's masked and read-only paths under /proc and /sys;
//   - namespaces: pid, ipc, uts, mount, cgroup of the container's own, and the task's existing
//     network namespace joined by path (Shoal made it and wired its VIPs, DNS and routing mesh;
//     the runtime must never make one). No user namespace (as Docker by default);
//   - seccomp: the tasks' profile (seccomp_profile.h), the same data the process runtime loads,
//     written in OCI's `linux.seccomp` form;
//   - the cgroup: `linux.cgroupsPath`, see BundleSpec::cgroups_path.
// Differences from Docker's config: no AppArmor/SELinux label (Shoal ships no profile), the
// seccomp profile is the tasks' (stricter in places, native architecture only: see
// seccomp_profile.h), and the cgroup namespace is private on cgroup v1 too (Docker uses the
// host's there).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/runtime/seccomp_profile.h"

namespace shoal::runtime::oci {

// A host file bound read-only at `target` in the container.
struct BindFile {
  std::string source;  // absolute host path (a file in the bundle directory)
  std::string target;  // absolute path in the container; not under /proc, /sys or /dev
};

struct Rlimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // not empty; argv[0] is looked up in the container's PATH
  std::vector<std::string> env;   // exactly the environment, "NAME=value"
  std::string cwd = "/";          // absolute
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  // RLIMIT_NOFILE; none: the container keeps runc's (the agent's) limits, as a Docker container
  // keeps its daemon's unless --ulimit is given. A hard limit above the caller's own needs
  // CAP_SYS_RESOURCE, which root lacks on some hosts (this project's machine: runc then fails
  // with "error setting rlimit type 7: operation not permitted"): the caller picks one within
  // its own (getrlimit).
  std::optional<Rlimit> nofile;
};

struct BundleSpec {
  std::string id;  // [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 characters (as runc's)
  // The root file system: the task's overlay mount (rootfs_mount.h), absolute or relative to the
  // bundle directory.
  std::string rootfs = "rootfs";
  bool readonly_rootfs = false;  // `--read-only`: the root is remounted read-only after mounts
  ProcessSpec process;
  std::string hostname;    // the UTS namespace's hostname; empty: the container id's first 12
  std::string netns_path;  // the task's network namespace, e.g. /run/netns/NAME; required
  // `linux.cgroupsPath`, e.g. "/shoal/<node>/<task>". runc's cgroupfs driver (no
  // --systemd-cgroup, so no systemd is asked) reads an absolute path as relative to the root
  // of each hierarchy: on cgroup v2 that is the one directory /sys/fs/cgroup/shoal/<node>/<task>
  // (under the node's cgroup, where its eBPF connect hooks are attached and inherited); on cgroup
  // v1 it is one directory per mounted controller, /sys/fs/cgroup/<controller>/shoal/<node>/
  // <task>, and in hybrid mode also the same path under the cgroup2 mount
  // (/sys/fs/cgroup/unified), where the eBPF hooks are. runc makes the parents it needs and
  // removes only the container's own directories on delete: remove_task_cgroups()
  // (cgroup_cleanup.h) removes what a failed or interrupted delete leaves, and the node's
  // directories when the node leaves.
  std::string cgroups_path;
  // Files bound read-only over /etc/resolv.conf, /etc/hosts and /etc/hostname; empty: not bound
  // (the image's own file, if any, is seen).
  std::string resolv_conf;
  std::string hosts;
  std::string hostname_file;
  std::vector<BindFile> files;  // configs
  // Annotations (Swarm's com.docker.swarm.* labels, for `runc state` and debugging).
  std::vector<std::pair<std::string, std::string>> annotations;
};

// The bundle's config.json, or an error naming the first field that cannot be used.
Result<nlohmann::json> bundle_config(const BundleSpec& spec);

// `linux.seccomp` for a profile: its actions, ops and architectures by their OCI names.
nlohmann::json seccomp_to_oci(const SeccompProfile& profile);

// Docker's default capabilities by their OCI names ("CAP_CHOWN", ...), from confine.h's mask,
// in capability-number order.
std::vector<std::string> default_capability_names();

// Writes config.json into bundle_dir (through a temporary file and a rename, so that runc never
// reads half of one).
Status write_bundle_config(const std::string& bundle_dir, const nlohmann::json& config);

}  // namespace shoal::runtime::oci
