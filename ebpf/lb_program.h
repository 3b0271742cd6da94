// The loaded VIP load-balancing programs of one node: RAII over the libbpf skeleton.
//
// Maps are pinned by name and links (the cgroup attachments) pinned too, under
// <bpffs>/shoal/<node>/, so they outlive the agent: established connections never depended on
// them, and the next agent re-uses the maps and swaps its programs into the pinned links without
// a moment with no hook attached. uninstall() removes all of it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

struct shoal_lb;
struct bpf_link;

namespace shoal::ebpf {

struct LbProgramConfig {
  std::string node;                // node tag: scopes the pin directory and the cgroup
  uint32_t max_frontends = 16384;  // VIP:port/proto entries
  uint32_t max_slots = 262144;     // backend slots, both generations of every frontend
  std::string cgroup;              // default: <cgroup2>/shoal/<node>
  std::string pin_dir;             // default: <bpffs>/shoal/<node>
};

class LbProgram {
 public:
  static Result<std::unique_ptr<LbProgram>> load(LbProgramConfig config);
  ~LbProgram();
  LbProgram(const LbProgram&) = delete;
  LbProgram& operator=(const LbProgram&) = delete;

  int services_fd() const;
  int slots_fd() const;
  const std::string& cgroup() const { return config_.cgroup; }
  const std::string& pin_dir() const { return config_.pin_dir; }

  // Detaches the hooks and removes every pin; the node cgroup is removed when empty.
  Status uninstall();

 private:
  explicit LbProgram(LbProgramConfig config) : config_(std::move(config)) {}
  Status open_and_load();
  Status attach_all();

  LbProgramConfig config_;
  shoal_lb* skeleton_ = nullptr;
  std::vector<bpf_link*> links_;
};

}  // namespace shoal::ebpf
