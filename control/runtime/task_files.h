// The files of one task, under <state_dir>/tasks/<id>/. They are the only channel between the
// runtime and a task's shim that outlives the agent, so a restarted agent learns everything
// from them:
//
//   spec.json    what to run and where (ShimSpec), written by the runtime before the shim starts
//   resolv.conf  bound over the task's /etc/resolv.conf (when the spec gives one)
//   hosts        bound over the task's /etc/hosts (when the spec gives one or a hostname)
//   hostname     bound over an image task's /etc/hostname
//   config.json, rootfs/, upper/, work/, container.pid, runc.log   an image task's OCI bundle
//                (the task directory is the bundle; see oci/README.md)
//   pid          shim and task pids with their start times, written by the shim once the task
//                has exec'd (the start times guard against pid reuse)
//   exit         "exit N", "signal N" or "unknown", written once the task and every process it
//                left behind are gone
//   stdout.log, stderr.log  the task's output, appended by the task itself
//   shim.log     the shim's own complaints after it has reported the start
//
// pid and exit are written atomically (temporary file and rename): a reader sees all or nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::runtime {

struct TaskPaths {
  std::string dir;

  std::string spec() const { return dir + "/spec.json"; }
  std::string resolv_conf() const { return dir + "/resolv.conf"; }
  std::string hosts() const { return dir + "/hosts"; }
  std::string hostname() const { return dir + "/hostname"; }
  std::string rootfs() const { return dir + "/rootfs"; }
  std::string pid() const { return dir + "/pid"; }
  std::string exit() const { return dir + "/exit"; }
  std::string stdout_log() const { return dir + "/stdout.log"; }
  std::string stderr_log() const { return dir + "/stderr.log"; }
  std::string shim_log() const { return dir + "/shim.log"; }
  std::string files() const { return dir + "/files"; }  // the TaskSpec's files, by index
  std::string file(size_t index) const { return files() + "/" + std::to_string(index); }
};

// A file bound read-only over `target` in the task's mount namespace.
struct FileMount {
  std::string source;
  std::string target;
};

// An image task's part of the shim's spec: the shim mounts the overlay root and runs the bundle
// (config.json, written by the runtime into the task directory) with runc. The runtime reads it
// back after a restart (stop signal, lower layer to release).
struct ShimImage {
  std::string lower;      // the unpacked image root
  std::string runc;       // runc binary
  std::string runc_root;  // runc --root, node-scoped
  int stop_signal = 15;
};

// Everything the shim needs; paths are absolute.
struct ShimSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // exactly the task's environment, "NAME=value"
  std::string workdir = "/";
  std::string netns;        // namespace file to enter; empty: stay in the runtime's
  std::string resolv_conf;  // file to bind over /etc/resolv.conf; empty: none
  std::string hosts;        // file to bind over /etc/hosts; empty: none
  std::string hostname;     // set in a new UTS namespace; empty: keep the host's
  std::string shim_cgroup;  // cgroup directory the shim lives in
  std::string task_cgroup;  // cgroup directory the task lives in
  std::vector<FileMount> files;
  std::vector<std::string> hidden;  // paths covered in the task's view (see task_view.h)
  std::optional<ShimImage> image;   // set: an image task (the fields above up to here unused
                                    // but the cgroups: config.json says the rest)
};

std::string encode_spec(const ShimSpec& spec);
Result<ShimSpec> decode_spec(const std::string& text);

// A process named in a way that survives pid reuse: its start time in clock ticks after boot
// (field 22 of /proc/PID/stat).
struct ProcessId {
  int pid = 0;
  uint64_t start_time = 0;
};

struct PidRecord {
  ProcessId shim;
  ProcessId task;
};

std::string encode_pids(const PidRecord& pids);  // "shim PID START\ntask PID START\n"
Result<PidRecord> decode_pids(const std::string& text);

// How a task ended. Neither field set: unknown (its shim died before it could tell).
struct ExitRecord {
  std::optional<int> exit_code;
  std::optional<int> signal;
};

std::string encode_exit(const ExitRecord& exit);  // "exit 3\n", "signal 9\n", "unknown\n"
Result<ExitRecord> decode_exit(const std::string& text);
// A wait status from waitpid as an ExitRecord.
ExitRecord exit_from_wait_status(int status);

// Small file helpers.
Status write_file(const std::string& path, const std::string& content);
Result<std::string> read_file(const std::string& path);
// The last max_bytes of a file.
Result<std::string> read_tail(const std::string& path, size_t max_bytes);
bool path_exists(const std::string& path);
// rm -r; a missing path is fine.
Status remove_tree(const std::string& path);

}  // namespace shoal::runtime
