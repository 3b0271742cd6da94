// A thin client of the runc binary: runs a bundle (bundle_config.h) as a container and kills,
// inspects and deletes it. Each call is one `runc --root <root> ...` process, started with
// posix_spawn (glibc's is a CLONE_VFORK with no user code between fork and exec: safe from the
// multi-threaded agent, where fork() is not), with a minimal environment, no inherited
// descriptor but those given, and a time limit. runc's errors come back in the Error's detail.
//
// `root` is runc's state directory (a directory per container: state.json, the exec fifo). It is
// node-scoped (e.g. <state dir>/oci/runc), never runc's default /run/runc, so that two nodes
// simulated on one machine, or a node and a Docker beside it, never see each other's containers
// and `swarm leave` can check that it is empty.
//
// Detached, not foreground: how a task's container is started.
//   `runc run` in the foreground stays the container's parent for its whole life: it gives the
//   exit code directly, but it copies the container's stdout and stderr through pipes (only a
//   terminal or --detach hand the container the descriptors themselves), so a runc that dies
//   (OOM killer, a stray kill) takes the task's output with it and its exit code is lost; it is
//   also a ~10 MB Go process per task, and it reports a signal as 128+N, indistinguishable from
//   an exit(128+N).
//   `runc run --detach` returns once the container runs; its init inherits the descriptors we
//   pass (the task's log files, written directly, as the process runtime's tasks do: no copy
//   loop) and is re-parented, when runc exits, to the nearest child subreaper. The keeper (the
//   task's shim, which is already the parent of its task and outlives agent restarts, shim.h)
//   calls become_child_subreaper() first, then reaps the container's init itself and gets its
//   exact wait status (exit code or signal) with wait_for_exit(). Without a live keeper (killed),
//   the container is re-parented to the node's init and keeps running; its state stays in runc's
//   root, so kill, state and delete still work, only its exit status is lost.
// run() (foreground) is kept for one-shot use: measuring `runc run` by hand in the benchmark,
// diagnostics.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::runtime::oci {

struct RuncOptions {
  std::string binary = "/usr/sbin/runc";
  std::string root;  // --root: runc's state directory, node-scoped; required
  // How long a runc call (run --detach, kill, state, delete) may take before it is killed.
  std::chrono::milliseconds timeout{30000};
};

// The container's standard descriptors; -1 is /dev/null.
struct ContainerIo {
  int in = -1;
  int out = -1;
  int err = -1;
};

// runc's view of a container (`runc state`).
struct ContainerState {
  std::string id;
  int pid = 0;         // of the container's init in the node's PID namespace; 0 once stopped
  std::string status;  // "creating", "created", "running", "paused", "stopped"
  std::string bundle;
};

// How a process ended: one of the two is set.
struct ExitStatus {
  std::optional<int> code;
  std::optional<int> signal;
};

class Runc {
 public:
  explicit Runc(RuncOptions options) : options_(std::move(options)) {}

  // `runc run --detach --pid-file <bundle>/container.pid --bundle <bundle> <id>`, runc's own log
  // in <bundle>/runc.log (where its errors are read from: its stderr is the container's). Returns
  // the container init's pid, once it runs. On an error nothing of the container is left running
  // (runc deletes what it started; the caller still calls delete_container for the state dir).
  Result<pid_t> run_detached(const std::string& id, const std::string& bundle,
                             const ContainerIo& io);

  // `runc run --bundle <bundle> <id>` in the foreground: waits for the container to end (runc
  // then deletes it) and returns runc's exit code (the container's, 128+N for signal N). After
  // `timeout`, runc is killed and an ETIMEDOUT error returned: the container may still run, and
  // the caller deletes it with force.
  Result<int> run(const std::string& id, const std::string& bundle, const ContainerIo& io,
                  std::chrono::milliseconds timeout);

  // `runc kill <id> <signal>`; `all` signals every process of the container (--all). A
  // container that is not running is an ESRCH error, a missing one ENOENT.
  Status kill(const std::string& id, int signal, bool all = false);

  // `runc state <id>`; nullopt when runc knows no such container.
  Result<std::optional<ContainerState>> state(const std::string& id);

  // `runc delete [--force] <id>`: runc removes the container's state and cgroup (see
  // cgroup_cleanup.h for what it leaves on a hybrid host). A missing container is fine; a
  // running one is refused unless `force` (which SIGKILLs it first).
  Status delete_container(const std::string& id, bool force);

  // `runc list`: the ids of the containers in the root (to adopt or clean up after a restart).
  Result<std::vector<std::string>> list();

  const RuncOptions& options() const { return options_; }

 private:
  RuncOptions options_;
};

// Makes the calling process the child subreaper of its descendants (PR_SET_CHILD_SUBREAPER), so
// that a detached container's init, orphaned when runc exits, becomes its child.
Status become_child_subreaper();

// Waits for a child (a container's init re-parented to this subreaper) to end, up to timeout
// (nullopt: no limit), and reaps it. ETIMEDOUT when it still runs then.
Result<ExitStatus> wait_for_exit(pid_t pid, std::optional<std::chrono::milliseconds> timeout);

}  // namespace shoal::runtime::oci
