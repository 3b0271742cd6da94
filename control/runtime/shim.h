// The body of shoal-task-shim: one task's single-threaded keeper.
//
// The agent is multi-threaded, and namespace changes after fork() in a multi-threaded process
// are unsafe (only the forking thread survives, holding whatever locks the others held). So the
// agent only spawns this small program, which does the namespace work in a process of its own:
//
//   1. moves itself into the task's shim cgroup, becomes a child subreaper, and ignores
//      SIGTERM/SIGINT/SIGHUP/SIGPIPE (the runtime signals the task, never the shim);
//   2. enters the task's network namespace and opens the task's stdin and log files;
//   3. forks the task's init into a new PID namespace (task_init.h): the init joins the task
//      cgroup, unshares mount, IPC, cgroup (and UTS) namespaces, builds the task's view of the
//      file system (task_view.h) and forks the task, which changes to its workdir, takes its
//      stdio, confines itself (confine.h) and execs with exactly the given env;
//   4. reports "ok" (after writing the pid file, with the task's PID as this namespace numbers
//      it) or "error <message>" on report_fd and closes it; an error of the init or of the task
//      before exec travels back through a close-on-exec socket, so start() sees it;
//   3'. an image task instead (ShimSpec::image): mounts the task's overlay root
//   (oci/rootfs_mount.h)
//      and runs `runc run --detach` of the bundle the runtime wrote into the task directory, the
//      task's log files as the container's stdout and stderr; the container's init, orphaned
//      when runc exits, becomes our child (we are its subreaper) and is both "init" and "task";
//   5. waits for the init, which exits with the task (taking the rest of the namespace along);
//      kills what may remain in the task cgroup, writes the exit file (the task's own wait
//      status, passed on by the init) and exits.
#pragma once

#include <string>

namespace shoal::runtime {

// Runs the shim for the task whose files are in task_dir. Returns the shim's exit code.
int run_shim(const std::string& task_dir, int report_fd);

}  // namespace shoal::runtime
