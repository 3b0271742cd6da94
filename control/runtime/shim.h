// The body of shoal-task-shim: one task's single-threaded keeper.
//
// The agent is multi-threaded, and namespace changes after fork() in a multi-threaded process
// are unsafe (only the forking thread survives, holding whatever locks the others held). So the
// agent only spawns this small program, which does the namespace work in a process of its own:
//
//   1. moves itself into the task's shim cgroup, becomes a child subreaper, and ignores
//      SIGTERM/SIGINT/SIGHUP/SIGPIPE (the runtime signals the task, never the shim);
//   2. enters the task's network namespace, unshares a mount namespace (and a UTS namespace when
//      a hostname is given), makes / private and binds the task's resolv.conf and hosts;
//   3. forks the task: it joins the task cgroup, changes to its workdir, takes /dev/null as
//      stdin and the task's log files as stdout/stderr, and execs with exactly the given env;
//   4. reports "ok" (after writing the pid file) or "error <message>" on report_fd and closes it;
//      an exec failure travels back through a close-on-exec pipe, so start() sees it;
//   5. reaps everything the task leaves behind; when the task itself exits, kills what remains
//      in the task cgroup, writes the exit file and exits.
#pragma once

#include <string>

namespace shoal::runtime {

// Runs the shim for the task whose files are in task_dir. Returns the shim's exit code.
int run_shim(const std::string& task_dir, int report_fd);

}  // namespace shoal::runtime
