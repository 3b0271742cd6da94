#include "control/runtime/task_mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>

#include "common/unique_fd.h"

namespace shoal::runtime {
namespace {

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

Status make_empty_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!fd.valid())
    return sys_error("create", path, errno);
  return {};
}

// Binds source over target read-only (a bind takes the source's flags; read-only needs a remount).
Status bind_read_only(const std::string& source, const std::string& target) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error("bind " + source + " over", target, errno);
  if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return sys_error("make read-only", target, errno);
  return {};
}

// One entry of `dir`, as it appears in its copy at `staged`.
Status mirror_entry(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0)
    return sys_error("stat", from, errno);
  if (S_ISLNK(st.st_mode)) {
    char link[4096];
    const ssize_t n = ::readlink(from.c_str(), link, sizeof link - 1);
    if (n < 0)
      return sys_error("readlink", from, errno);
    link[n] = '\0';
    if (::symlink(link, to.c_str()) != 0)
      return sys_error("symlink", to, errno);
    return {};
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(to.c_str(), st.st_mode & 07777) != 0)
      return sys_error("mkdir", to, errno);
  } else {
    SHOAL_TRY(make_empty_file(to));
  }
  if (::mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return sys_error("bind " + from + " over", to, errno);
  return {};
}

// A recursive bind of an entry that holds the staging directory also copies the staging tmpfs
// (with what it held so far) into the copy: that nested copy is detached again.
void detach_nested_copy(const std::string& entry, const std::string& staged_entry,
                        const std::string& staging) {
  const std::string prefix = entry + "/";
  if (staging.rfind(prefix, 0) == 0)
    ::umount2((staged_entry + staging.substr(entry.size())).c_str(), MNT_DETACH);
}

using NewFiles = std::vector<std::pair<std::string, std::string>>;  // name, source

Status mirror_directory(const std::string& dir, const NewFiles& files, const std::string& staging) {
  if (::mkdir(staging.c_str(), 0755) != 0)
    return sys_error("mkdir", staging, errno);
  if (::mount("tmpfs", staging.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    return sys_error("mount tmpfs on", staging, errno);
  std::unique_ptr<DIR, int (*)(DIR*)> entries(::opendir(dir.c_str()), ::closedir);
  if (!entries)
    return sys_error("open directory", dir, errno);
  while (const dirent* entry = ::readdir(entries.get())) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..")
      continue;
    const std::string from = join(dir, name);
    const std::string to = staging + "/" + name;
    SHOAL_TRY(mirror_entry(from, to));
    detach_nested_copy(from, to, staging);
  }
  for (const auto& [name, source] : files) {
    const std::string to = staging + "/" + name;
    SHOAL_TRY(make_empty_file(to));
    SHOAL_TRY(bind_read_only(source, to));
  }
  // The copy itself is read-only too, as every other directory of the node is for the task.
  if (::mount(nullptr, staging.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return sys_error("make read-only", staging, errno);
  if (dir != "/") {
    if (::mount(staging.c_str(), dir.c_str(), nullptr, MS_MOVE, nullptr) != 0)
      return sys_error("move " + staging + " onto", dir, errno);
    return {};
  }
  // The copy becomes the root of the mount namespace and the old root is detached: a chroot
  // would leave the old root (with the node's /dev and unhidden state dir) one chroot escape
  // away, and a task keeps CAP_SYS_CHROOT. pivot_root(".", ".") stacks the old root on the
  // new one, whence it is detached (as runc does).
  if (::chdir(staging.c_str()) != 0)
    return sys_error("chdir", staging, errno);
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    return sys_error("pivot_root into", staging, errno);
  if (::umount2(".", MNT_DETACH) != 0)
    return sys_error("detach", "the old root", errno);
  if (::chdir("/") != 0)
    return sys_error("chdir", "/", errno);
  return {};
}

}  // namespace

Status mount_task_files(const std::vector<FileMount>& files, const std::string& mounts_dir) {
  std::map<std::string, NewFiles> missing;  // by directory
  for (const auto& file : files) {
    struct stat st {};
    if (::lstat(file.target.c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode))
        return invalid_argument("config target " + file.target, "exists and is not a file");
      SHOAL_TRY(bind_read_only(file.source, file.target));
      continue;
    }
    const std::string dir = parent_of(file.target);
    struct stat dir_st {};
    if (::stat(dir.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode)) {
      return invalid_argument("config target " + file.target,
                              "its directory " + dir + " does not exist on this node");
    }
    missing[dir].emplace_back(file.target.substr(file.target.rfind('/') + 1), file.source);
  }
  // Deeper directories first, so a copy of a shallower one binds their copies in.
  size_t index = 0;
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    SHOAL_TRY(mirror_directory(it->first, it->second, mounts_dir + "/" + std::to_string(index++)));
  }
  return {};
}

}  // namespace shoal::runtime
