// The external programs the image store drives: skopeo moves images (registry, archives) into
// OCI layouts, umoci unpacks a layout's image into a root filesystem. They sit behind the
// `Tools` interface so that the store's rules (single-flight, index, garbage collection, what a
// failure leaves behind) are unit-tested with a fake that writes layouts itself, and so that a
// test can run the real tools inside a simulated host's network namespace.
//
// Every run is bounded: a time limit after which the program's whole process group is killed,
// and a bound on the output kept (its tail, where skopeo and umoci put the reason they failed).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::images {

// How a program ended. `output` is its stdout and stderr together (the last kMaxToolOutput
// bytes).
struct ToolOutcome {
  int exit_code = -1;  // -1 when it was killed (at the time limit or by a signal)
  bool timed_out = false;
  std::string output;

  bool ok() const { return exit_code == 0 && !timed_out; }
};

inline constexpr size_t kMaxToolOutput = 64 * 1024;

// `skopeo copy SOURCE oci:DESTINATION_LAYOUT:TAG`.
struct CopyRequest {
  std::string source;      // "docker://host/a/b:t", "docker-archive:/x.tar@0", "oci-archive:.."
  std::string layout_dir;  // a directory that does not exist yet (skopeo makes it)
  std::string layout_tag;  // the one image's tag inside that layout
  bool tls_verify = true;  // false: plain HTTP allowed and certificates not checked
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// `umoci raw unpack --image LAYOUT:TAG ROOTFS`.
struct UnpackRequest {
  std::string layout_dir;
  std::string layout_tag;
  std::string rootfs_dir;  // does not exist yet
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// Implementations are called from several threads at once.
class Tools {
 public:
  virtual ~Tools() = default;
  // An error only when the program could not be run at all; a program that ran and failed is
  // an outcome with its exit code and output.
  virtual Result<ToolOutcome> copy(const CopyRequest& request) = 0;
  virtual Result<ToolOutcome> unpack(const UnpackRequest& request) = 0;
};

// The real programs, found through PATH. `prefix` is put before every command line: empty on
// a node, {"ip", "netns", "exec", NS} in a test that pulls from inside a simulated host.
class ProcessTools : public Tools {
 public:
  explicit ProcessTools(std::vector<std::string> prefix = {}) : prefix_(std::move(prefix)) {}
  Result<ToolOutcome> copy(const CopyRequest& request) override;
  Result<ToolOutcome> unpack(const UnpackRequest& request) override;

 private:
  std::vector<std::string> prefix_;
};

// Runs argv (PATH lookup) in a process group of its own with stdin on /dev/null, stdout and
// stderr captured together, no descriptor but those inherited, and kills the group at the
// time limit. Safe from a multi-threaded process (posix_spawn: no user code between fork and
// exec).
Result<ToolOutcome> run_bounded(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout);

// The reason in a failed skopeo's output: the text of its last `msg="..."` (logrus' fatal
// line), else the last non-empty line; at most 2000 characters.
std::string tool_reason(const std::string& output);

}  // namespace shoal::images
