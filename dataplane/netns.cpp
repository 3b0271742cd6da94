#include "dataplane/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>

namespace shoal::dataplane {
namespace {

bool valid_netns_name(const std::string& name) {
  return !name.empty() && name.size() < 200 && name != "." && name != ".." &&
         name.find('/') == std::string::npos;
}

// Optional fields of the last (topmost) /run/netns line of a mountinfo file: "shared:N master:M".
std::string netns_dir_propagation(const std::string& mountinfo_path) {
  std::ifstream in(mountinfo_path);
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point, options, tag, tags;
    fields >> id >> parent >> dev >> root >> mount_point >> options;
    if (mount_point != kNetnsDir) {
      continue;
    }
    while (fields >> tag && tag != "-") {
      tags += tag + " ";
    }
    found = tags;
  }
  return found;
}

std::string group_of(const std::string& tags, const std::string& kind) {
  size_t at = tags.find(kind + ":");
  if (at == std::string::npos) {
    return {};
  }
  size_t start = at + kind.size() + 1;
  return tags.substr(start, tags.find(' ', start) - start);
}

// Where pins must be made. Normally our own mount namespace. Under `ip netns exec`, /run/netns
// is a slave copy whose new mounts never reach anyone else; the pins then go to the mount
// namespace of a process that holds the master copy (found by its propagation peer group), and
// propagate back to us from there. Looked up once: the descriptor keeps that namespace alive.
int pin_mount_ns_fd() {
  static const UniqueFd fd = [] {
    const std::string master = group_of(netns_dir_propagation("/proc/self/mountinfo"), "master");
    if (master.empty()) {
      return UniqueFd();
    }
    std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
    while (dirent* entry = proc ? ::readdir(proc.get()) : nullptr) {
      const std::string pid = entry->d_name;
      if (pid.find_first_not_of("0123456789") != std::string::npos) {
        continue;
      }
      const std::string tags = netns_dir_propagation("/proc/" + pid + "/mountinfo");
      if (group_of(tags, "shared") == master) {
        UniqueFd ns(::open(("/proc/" + pid + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (ns.valid()) {
          return ns;
        }
      }
    }
    return UniqueFd();
  }();
  return fd.get();
}

bool is_nsfs(const char* path) {
  struct statfs fs {};
  return ::statfs(path, &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

// Both pin operations run in a forked child: the child is single-threaded, so it may enter the
// host's mount namespace (a multi-threaded process may not) and unshare a fresh netns. Between
// fork and _exit the child makes only system calls.
struct PinPaths {
  const char* dir;
  const char* path;
  int pin_mnt_fd;  // -1: pin in our own mount namespace
};

int make_dir_shared(const char* dir) {
  if (::mkdir(dir, 0755) != 0 && errno != EEXIST) {
    return errno;
  }
  // As iproute2 does: a shared mount point, so pins propagate into other mount namespaces.
  if (::mount("", dir, "none", MS_SHARED | MS_REC, nullptr) == 0) {
    return 0;
  }
  if (errno != EINVAL) {
    return errno;
  }
  if (::mount(dir, dir, "none", MS_BIND | MS_REC, nullptr) != 0) {
    return errno;
  }
  return ::mount("", dir, "none", MS_SHARED | MS_REC, nullptr) == 0 ? 0 : errno;
}

int child_create_pin(const PinPaths& p) {
  if (p.pin_mnt_fd >= 0 && ::setns(p.pin_mnt_fd, CLONE_NEWNS) != 0) {
    return errno;
  }
  if (int err = make_dir_shared(p.dir); err != 0) {
    return err;
  }
  if (is_nsfs(p.path)) {
    return 0;  // created meanwhile by someone else: same outcome
  }
  ::unlink(p.path);  // a stale file left without its mount
  int fd = ::open(p.path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) {
    return errno;
  }
  ::close(fd);
  if (::unshare(CLONE_NEWNET) != 0 ||
      ::mount("/proc/self/ns/net", p.path, "none", MS_BIND, nullptr) != 0) {
    int err = errno;
    ::unlink(p.path);
    return err;
  }
  return 0;
}

int child_delete_pin(const PinPaths& p) {
  if (p.pin_mnt_fd >= 0 && ::setns(p.pin_mnt_fd, CLONE_NEWNS) != 0) {
    return errno;
  }
  if (::umount2(p.path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return errno;
  }
  if (::unlink(p.path) != 0 && errno != ENOENT) {
    return errno;
  }
  return 0;
}

Status run_pin_child(const char* op, const std::string& name, int (*body)(const PinPaths&)) {
  if (!valid_netns_name(name)) {
    return invalid_argument("netns name '" + name + "'", "must be 1-199 characters without '/'");
  }
  const std::string path = std::string(kNetnsDir) + "/" + name;
  const PinPaths paths{kNetnsDir, path.c_str(), pin_mount_ns_fd()};
  pid_t pid = ::fork();
  if (pid < 0) {
    return sys_error(op, name, errno, "fork");
  }
  if (pid == 0) {
    ::_exit(body(paths));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return sys_error(op, name, errno, "waitpid");
    }
  }
  if (!WIFEXITED(status)) {
    return sys_error(op, name, 0, "helper process died");
  }
  int err = WEXITSTATUS(status);
  return err == 0 ? Status{} : sys_error(op, "netns " + name, err);
}

}  // namespace

Result<Netns> open_nsfs(const std::string& path, std::string label) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return sys_error("open netns", label, errno);
  }
  struct statfs fs {};
  struct stat st {};
  if (::fstatfs(fd.get(), &fs) != 0 || fs.f_type != NSFS_MAGIC || ::fstat(fd.get(), &st) != 0) {
    return sys_error("open netns", label, 0, path + " is not a namespace file");
  }
  return Netns(std::move(fd), st.st_ino, std::move(label));
}

Result<Netns> Netns::current() {
  return open_nsfs("/proc/thread-self/ns/net", "current");
}

Result<Netns> Netns::open_path(const std::string& path) {
  return open_nsfs(path, path);
}

Result<Netns> Netns::open_named(const std::string& name) {
  if (!valid_netns_name(name)) {
    return invalid_argument("netns name '" + name + "'", "must be 1-199 characters without '/'");
  }
  return open_nsfs(named_netns_path(name), name);
}

std::string named_netns_path(const std::string& name) {
  return std::string(kNetnsDir) + "/" + name;
}

Status create_named_netns(const std::string& name) {
  if (valid_netns_name(name) && named_netns_exists(name)) {
    return {};
  }
  return run_pin_child("create netns", name, child_create_pin);
}

Status delete_named_netns(const std::string& name) {
  return run_pin_child("delete netns", name, child_delete_pin);
}

bool named_netns_exists(const std::string& name) {
  return is_nsfs(named_netns_path(name).c_str());
}

Result<std::vector<std::string>> list_named_netns() {
  std::vector<std::string> names;
  const std::string dir = kNetnsDir;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT) {
      return names;
    }
    return sys_error("list netns", dir, errno);
  }
  while (dirent* entry = ::readdir(d.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace shoal::dataplane
