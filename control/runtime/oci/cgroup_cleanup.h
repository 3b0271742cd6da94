// What runc leaves of a container's cgroup after `runc delete`, and its removal.
//
// runc's cgroupfs driver puts a container with `linux.cgroupsPath` P in <mount>/P of every cgroup
// hierarchy mounted (bundle_config.h says how P maps on v1, v2 and hybrid), making the missing
// parents as it goes. On this project's hybrid machine (v1 cpu, cpuacct, cpuset, memory, devices,
// freezer, blkio, pids, name=systemd, and cgroup2 at /sys/fs/cgroup/unified) that is ten
// directories per container. runc 1.1.5 removed all ten on `runc delete` in every case tried
// (forced delete of a running container, delete of an exited or a killed one, a foreground run, a
// start that failed on a missing executable), but the parents it made (/shoal/<node> in each v1
// hierarchy, which nothing else of Shoal's uses) stay, and a runc killed mid-way (an agent or a
// node killed during a start or a delete) can leave the container's own. Shoal must leave
// nothing, so the runtime calls remove_task_cgroups(P) after every delete (and for a task found
// dead after an agent restart), and remove_task_cgroups("/shoal/<node>") when the node leaves.
//
// Only hierarchies mounted whole (mountinfo root "/") are looked at: those are the ones runc
// created the directories in, from the node's cgroup namespace. Under `ip netns exec`, whose
// fresh /sys shows no cgroup mount at all, nothing is found: call these from the node's mount
// namespace, as runc is run.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::runtime::oci {

// The directories that exist for `cgroups_path` (absolute, as in config.json) in every cgroup
// and cgroup2 hierarchy, deepest first.
Result<std::vector<std::string>> task_cgroup_dirs(const std::string& cgroups_path);

// Removes those directories, children first. Missing ones are fine; one that still holds a
// process is an error naming it (EBUSY), after the others were tried. Parents of the path
// (shoal/<node>) are shared by the node's tasks and stay.
Status remove_task_cgroups(const std::string& cgroups_path);

}  // namespace shoal::runtime::oci
