// A task's root file system: an overlay mount on <bundle>/rootfs whose lower layer is the image's
// unpacked root file system (read-only, shared by every task of that image, never written) and
// whose upper and work directories are <bundle>/upper and <bundle>/work, so that whatever the
// task writes stays in its bundle and goes with it.
//
// RAII: the destructor (or release(), which says what failed) unmounts the overlay, lazily
// (MNT_DETACH) when something still holds it, and removes rootfs/, upper/ and work/. The bundle
// directory itself is the caller's. An agent restarted while tasks run finds their overlays
// mounted: mount() then adopts the mount already on rootfs/ (same lower, upper and work) instead
// of stacking a second one over it, and refuses one that is something else.
//
// Mounting is one mount(2) call: safe from the multi-threaded agent (no fork involved). The
// mount is made in the caller's mount namespace, which must be the one runc runs in.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::runtime::oci {

class RootfsMount {
 public:
  // Mounts (or adopts) the overlay of `lower` on <bundle_dir>/rootfs. Both directories must
  // exist; `lower` must not hold ',', ':' or '\' (the overlay option syntax). An error leaves no
  // mount and no directory of its own behind.
  static Result<RootfsMount> mount(const std::string& lower, const std::string& bundle_dir);

  RootfsMount(RootfsMount&& other) noexcept;
  RootfsMount& operator=(RootfsMount&& other) noexcept;
  RootfsMount(const RootfsMount&) = delete;
  RootfsMount& operator=(const RootfsMount&) = delete;
  ~RootfsMount();

  // Unmounts and removes rootfs/, upper/ and work/. Idempotent; after it the object owns nothing.
  // On an error the object keeps ownership (a later release() or the destructor tries again).
  Status release();

  // Gives up ownership and leaves the mount and its directories as they are: an agent that stops
  // while its tasks run keeps their roots, and adopts them again when it starts (mount()).
  void leave_mounted();

  const std::string& rootfs() const { return rootfs_; }  // canonical path of the mount point
  const std::string& upper() const { return upper_; }
  const std::string& work() const { return work_; }
  bool adopted() const { return adopted_; }  // the mount was already there

 private:
  RootfsMount() = default;
  std::string rootfs_;
  std::string upper_;
  std::string work_;
  bool adopted_ = false;
};

// A mount of this mount namespace, from /proc/self/mountinfo.
struct MountEntry {
  std::string root;  // the mounted file system's directory shown there ("/" for a whole one)
  std::string mount_point;
  std::string fstype;
  std::string super_options;  // e.g. an overlay's lowerdir=...,upperdir=...,workdir=...
};

// The mounts on `dir` (canonical) or below it, in mount order (the last on a path is the one
// seen there).
Result<std::vector<MountEntry>> mounts_under(const std::string& dir);

}  // namespace shoal::runtime::oci
