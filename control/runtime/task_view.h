// The file system a task sees. Built by the task's init (see task_init.h) in a mount namespace
// of the task's own, inside its PID, IPC and network namespaces, before the task is forked:
//
//   - every mount of the host, read-only (mount_setattr, recursive): a task runs the node's
//     binaries but cannot change them, /etc, or anything else of the node's;
//   - /run and /tmp: fresh, empty, writable tmpfs (nosuid, nodev). /run on the node holds
//     netns pins and the sockets of systemd, D-Bus, containerd and Docker, which a read-only
//     mount does not stop anyone from connecting to;
//   - the task's /etc/resolv.conf, /etc/hosts and config files, bound read-only (see
//     task_mounts.h);
//   - each hidden path (the node's state dir: certificates, keys, shoald.sock, the manager's
//     store, the tasks' files) covered by an empty read-only tmpfs, mounts below it detached;
//   - /dev: a tmpfs (nodev) with only null, zero, full, random, urandom and tty bound from the
//     host, a devpts of its own, a /dev/shm and /dev/mqueue of its own: no disks, no /dev/mem;
//     a node made with mknod is useless on a nodev mount;
//   - /proc: a procfs of the task's PID namespace, with /proc/sys, /proc/sysrq-trigger,
//     /proc/irq, /proc/bus, /proc/fs read-only and /proc/kcore, /proc/keys, /proc/timer_list,
//     /proc/sched_debug, /proc/acpi, /proc/scsi masked (as Docker does);
//   - /sys: a read-only sysfs of the task's network namespace, so no cgroup hierarchy and no
//     bpffs pins below it; any cgroup, cgroup2, bpf or nsfs mount left elsewhere is detached.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "control/runtime/task_files.h"

namespace shoal::runtime {

struct TaskView {
  std::string resolv_conf;  // file bound over /etc/resolv.conf; empty: the host's
  std::string hosts;        // file bound over /etc/hosts; empty: the host's
  std::vector<FileMount> files;
  std::vector<std::string> hidden;  // absolute paths the task must not see
};

// Must run in a fresh mount namespace, as the init of the task's PID namespace (its /proc is
// mounted for the calling process's PID namespace).
Status build_task_view(const TaskView& view);

}  // namespace shoal::runtime
