#include "control/runtime/oci/cgroup_cleanup.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

#include "control/runtime/oci/rootfs_mount.h"

namespace shoal::runtime::oci {
namespace {

// A cgroup path never nests deep; a bound keeps a hostile tree from making this walk forever.
constexpr size_t kMaxDirs = 4096;

Status check_path(const std::string& cgroups_path) {
  if (cgroups_path.size() < 2 || cgroups_path[0] != '/' ||
      cgroups_path.find("/../") != std::string::npos ||
      cgroups_path.find("/./") != std::string::npos || cgroups_path.ends_with("/..") ||
      cgroups_path.ends_with("/."))
    return invalid_argument("cgroupsPath '" + cgroups_path + "'",
                            "not a clean absolute path below the hierarchy's root");
  return {};
}

// <dir> and every directory below it, children before their parents.
Status collect_tree(const std::string& dir, std::vector<std::string>& out) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error))
    return {};
  std::vector<std::string> below;
  std::filesystem::recursive_directory_iterator it(dir, error), end;
  for (; !error && it != end; it.increment(error)) {
    if (it->is_directory(error) && !it->is_symlink(error))
      below.push_back(it->path().string());
    if (below.size() > kMaxDirs)
      return Error{"list", dir, 0, "more than 4096 cgroup directories below it"};
  }
  if (error && error.value() != ENOENT)
    return sys_error("list", dir, error.value());
  // Deeper paths sort after their parents; reversed, children come first.
  std::sort(below.begin(), below.end());
  out.insert(out.end(), below.rbegin(), below.rend());
  out.push_back(dir);
  return {};
}

}  // namespace

Result<std::vector<std::string>> task_cgroup_dirs(const std::string& cgroups_path) {
  SHOAL_TRY(check_path(cgroups_path));
  SHOAL_ASSIGN_OR_RETURN(const auto mounts, mounts_under("/"));
  std::vector<std::string> dirs;
  std::vector<std::string> seen;  // a hierarchy mounted twice is walked once
  for (const auto& mount : mounts) {
    if ((mount.fstype != "cgroup" && mount.fstype != "cgroup2") || mount.root != "/")
      continue;
    if (std::find(seen.begin(), seen.end(), mount.mount_point) != seen.end())
      continue;
    seen.push_back(mount.mount_point);
    SHOAL_TRY(collect_tree(mount.mount_point + cgroups_path, dirs));
  }
  return dirs;
}

Status remove_task_cgroups(const std::string& cgroups_path) {
  SHOAL_ASSIGN_OR_RETURN(const auto dirs, task_cgroup_dirs(cgroups_path));
  std::optional<Error> first;
  for (const auto& dir : dirs) {
    // A cgroup directory goes with rmdir alone (its files are the kernel's), and only empty.
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && !first)
      first = sys_error("remove cgroup", dir, errno);
  }
  if (first)
    return *first;
  return {};
}

}  // namespace shoal::runtime::oci
