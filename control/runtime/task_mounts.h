// Files bound read-only into a task's mount namespace (configs), done by the task's init after
// it has unshared that namespace and made "/" private (see task_view.h), so the host never sees
// any of it.
//
// Tasks run on the host's root, not an image, so a target may not exist. A target that exists
// (a regular file) is simply bound over. For targets that do not exist, their directory D must
// exist: the init builds a copy of D on a read-only tmpfs, staged under `mounts_dir`, holding a
// bind of every entry of D (symlinks copied) plus the new files, and moves it over D. For D = "/"
// the copy becomes the root of the task's mount namespace by pivot_root and the old root is
// detached (a mount over the root is not seen by paths resolved from the old root, and a chroot
// could be escaped). Nothing is ever created on the host's file systems.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "control/runtime/task_files.h"

namespace shoal::runtime {

Status mount_task_files(const std::vector<FileMount>& files, const std::string& mounts_dir);

}  // namespace shoal::runtime
