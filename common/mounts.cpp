#include "common/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace shoal {
namespace {

// The mount point of the first mount of this file system type in our mount namespace.
std::string find_mount(const std::string& fstype) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos)
      continue;
    std::istringstream after(line.substr(dash + 3));
    std::string type;
    after >> type;
    if (type != fstype)
      continue;
    std::istringstream before(line);
    std::string id, parent, dev, root, mount_point;
    before >> id >> parent >> dev >> root >> mount_point;
    return mount_point;
  }
  return {};
}

Result<std::string> mount_at(const std::string& fstype, const std::string& path) {
  SHOAL_TRY(make_dirs(path));
  if (::mount(fstype.c_str(), path.c_str(), fstype.c_str(), 0, nullptr) != 0) {
    return sys_error("mount " + fstype, path, errno);
  }
  return path;
}

}  // namespace

Status make_dirs(const std::string& path) {
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string prefix = path.substr(0, end);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return sys_error("mkdir", prefix, errno);
    }
    if (end == std::string::npos)
      return {};
  }
}

Result<std::string> ensure_bpffs() {
  std::string found = find_mount("bpf");
  return found.empty() ? mount_at("bpf", "/sys/fs/bpf") : Result<std::string>(found);
}

Result<std::string> ensure_cgroup2() {
  std::string found = find_mount("cgroup2");
  if (!found.empty()) {
    return found;
  }
  struct stat st {};
  const bool cgroup_dir_used =
      ::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0 || !find_mount("cgroup").empty();
  return mount_at("cgroup2", cgroup_dir_used ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup");
}

}  // namespace shoal
