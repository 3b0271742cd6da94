#include "control/runtime/task_view.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/unique_fd.h"
#include "control/runtime/task_mounts.h"

namespace shoal::runtime {
namespace {

constexpr unsigned long kScratch = MS_NOSUID | MS_NODEV;
constexpr const char* kStaging = "/run/.shoal-staging";  // on the task's fresh /run

struct MountPoint {
  std::string path;
  std::string type;
};

// "\040" and friends in /proc/self/mountinfo.
std::string unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                               (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The mounts this process sees, in the order mounted (parents before children).
Result<std::vector<MountPoint>> mount_points() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in)
    return sys_error("read", "/proc/self/mountinfo", errno);
  std::vector<MountPoint> points;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos)
      continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type;
    tail >> type;
    points.push_back({unescape(point), type});
  }
  return points;
}

bool within(const std::string& path, const std::string& dir) {
  return path == dir || dir == "/" || path.rfind(dir + "/", 0) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Detaches every mount at or below dir, deepest first (a detached parent takes its children).
Status detach_tree(const std::string& dir) {
  SHOAL_ASSIGN_OR_RETURN(auto points, mount_points());
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    if (within(it->path, dir) && ::umount2(it->path.c_str(), MNT_DETACH) != 0 && errno != EINVAL &&
        errno != ENOENT)
      return sys_error("detach", it->path, errno);
  }
  return {};
}

Status mount_fs(const char* type, const std::string& target, unsigned long flags,
                const char* options) {
  if (::mount(type, target.c_str(), type, flags, options) != 0)
    return sys_error(std::string("mount ") + type + " on", target, errno);
  return {};
}

Status bind(const std::string& source, const std::string& target, bool read_only) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error("bind " + source + " over", target, errno);
  if (read_only &&
      ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return sys_error("make read-only", target, errno);
  return {};
}

Status make_file(const std::string& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid())
    return sys_error("create", path, errno);
  return write_all(fd.get(), content, path);
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    return sys_error("mkdir", path, errno);
  if (::chmod(path.c_str(), mode) != 0)  // past the umask
    return sys_error("chmod", path, errno);
  return {};
}

Status make_parents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1))
    SHOAL_TRY(make_dir(path.substr(0, slash), 0755));
  return {};
}

// Per mount, where mount_setattr (Linux 5.12) is missing: keeps nosuid, nodev, noexec.
Status remount_each_read_only() {
  SHOAL_ASSIGN_OR_RETURN(auto points, mount_points());
  for (const auto& point : points) {
    struct statvfs st {};
    if (::statvfs(point.path.c_str(), &st) != 0)
      continue;  // covered by a later mount
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
    flags |= (st.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (st.f_flag & ST_NODEV ? MS_NODEV : 0) |
             (st.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
    if (::mount(nullptr, point.path.c_str(), nullptr, flags, nullptr) != 0)
      return sys_error("make read-only", point.path, errno);
  }
  return {};
}

Status make_everything_read_only() {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) == 0)
    return {};
  if (errno != ENOSYS)
    return sys_error("make read-only", "/ and every mount below it", errno);
  return remount_each_read_only();
}

// A fresh tmpfs over dir, whatever was mounted there.
Status fresh_tmpfs(const std::string& dir, const char* options) {
  if (!is_dir(dir))
    return {};
  SHOAL_TRY(detach_tree(dir));
  return mount_fs("tmpfs", dir, kScratch, options);
}

// Files of /etc that are symlinks into /run on the node (systemd-resolved's resolv.conf): a
// fresh /run would leave them dangling, so their content moves into it.
struct KeptFile {
  std::string path;  // where the link points, under /run
  std::string content;
};

std::vector<KeptFile> files_linked_into_run() {
  std::vector<KeptFile> kept;
  for (const char* link : {"/etc/resolv.conf", "/etc/hosts", "/etc/hostname"}) {
    char real[PATH_MAX];
    if (::realpath(link, real) == nullptr || !within(real, "/run"))
      continue;
    if (auto content = read_file(real); content.ok())
      kept.push_back({real, *content});
  }
  return kept;
}

Status fresh_run() {
  const std::vector<KeptFile> kept = files_linked_into_run();
  SHOAL_TRY(fresh_tmpfs("/run", "mode=0755"));
  for (const KeptFile& file : kept) {
    SHOAL_TRY(make_parents(file.path));
    SHOAL_TRY(make_file(file.path, file.content, 0644));
  }
  return {};
}

// The sources of the task's files (in the state dir, which may well be under /tmp) held open
// across the fresh /run and /tmp, and bound through /proc/self/fd: the targets may be there.
struct HeldSources {
  std::vector<UniqueFd> fds;

  Result<std::string> hold(const std::string& source) {
    if (source.empty())
      return source;
    UniqueFd fd(::open(source.c_str(), O_PATH | O_CLOEXEC));
    if (!fd.valid())
      return sys_error("open", source, errno);
    fds.push_back(std::move(fd));
    return "/proc/self/fd/" + std::to_string(fds.back().get());
  }
};

Result<TaskView> hold_sources(TaskView view, HeldSources& held) {
  SHOAL_ASSIGN_OR_RETURN(view.resolv_conf, held.hold(view.resolv_conf));
  SHOAL_ASSIGN_OR_RETURN(view.hosts, held.hold(view.hosts));
  for (FileMount& file : view.files) {
    SHOAL_ASSIGN_OR_RETURN(file.source, held.hold(file.source));
  }
  return view;
}

// The task's resolv.conf, hosts and configs. Config directories are staged on the fresh /run.
Status task_files(const TaskView& view) {
  for (const auto& [source, target] :
       {std::pair{view.resolv_conf, "/etc/resolv.conf"}, std::pair{view.hosts, "/etc/hosts"}}) {
    if (!source.empty())
      SHOAL_TRY(bind(source, target, true));
  }
  if (view.files.empty())
    return {};
  SHOAL_TRY(make_dir(kStaging, 0700));
  SHOAL_TRY(mount_task_files(view.files, kStaging));
  SHOAL_TRY(detach_tree(kStaging));
  // (After a chroot into a copy of "/" this is the same directory, seen through the copy.)
  return remove_tree(kStaging);
}

Status hide(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return errno == ENOENT ? Status() : Status(sys_error("stat", path, errno));
  if (!S_ISDIR(st.st_mode))
    return bind("/dev/null", path, true);
  SHOAL_TRY(detach_tree(path));
  return mount_fs("tmpfs", path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k");
}

Status fresh_dev() {
  const std::string staging = std::string(kStaging) + "-dev";
  SHOAL_TRY(make_dir(staging, 0755));
  SHOAL_TRY(mount_fs("tmpfs", staging, MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k"));
  for (const char* name : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string host = std::string("/dev/") + name;
    if (::access(host.c_str(), F_OK) != 0)
      continue;
    SHOAL_TRY(make_file(staging + "/" + name, "", 0666));
    SHOAL_TRY(bind(host, staging + "/" + name, false));
  }
  SHOAL_TRY(make_dir(staging + "/pts", 0755));
  SHOAL_TRY(mount_fs("devpts", staging + "/pts", MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=0620"));
  SHOAL_TRY(make_dir(staging + "/shm", 01777));
  SHOAL_TRY(mount_fs("tmpfs", staging + "/shm", kScratch | MS_NOEXEC, "mode=1777"));
  SHOAL_TRY(make_dir(staging + "/mqueue", 0755));
  if (::mount("mqueue", (staging + "/mqueue").c_str(), "mqueue", kScratch | MS_NOEXEC, nullptr) !=
          0 &&
      errno != ENODEV)
    return sys_error("mount mqueue on", staging + "/mqueue", errno);
  for (const auto& [name, target] : {std::pair{"ptmx", "pts/ptmx"},
                                     {"fd", "/proc/self/fd"},
                                     {"stdin", "/proc/self/fd/0"},
                                     {"stdout", "/proc/self/fd/1"},
                                     {"stderr", "/proc/self/fd/2"}}) {
    if (::symlink(target, (staging + "/" + name).c_str()) != 0)
      return sys_error("symlink", staging + "/" + name, errno);
  }
  SHOAL_TRY(detach_tree("/dev"));
  if (::mount(staging.c_str(), "/dev", nullptr, MS_MOVE, nullptr) != 0)
    return sys_error("move " + staging + " onto", "/dev", errno);
  ::rmdir(staging.c_str());
  return {};
}

Status fresh_proc() {
  SHOAL_TRY(detach_tree("/proc"));
  SHOAL_TRY(mount_fs("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr));
  for (const char* path :
       {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"}) {
    if (::access(path, F_OK) == 0)
      SHOAL_TRY(bind(path, path, true));
  }
  for (const char* path : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                           "/proc/latency_stats", "/proc/acpi", "/proc/scsi"})
    SHOAL_TRY(hide(path));
  return {};
}

Status fresh_sys() {
  if (!is_dir("/sys"))
    return {};
  SHOAL_TRY(detach_tree("/sys"));
  return mount_fs("sysfs", "/sys", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}

// Whatever cgroup hierarchy, bpffs or namespace pin is still mounted somewhere.
Status detach_kernel_mounts() {
  SHOAL_ASSIGN_OR_RETURN(auto points, mount_points());
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    const std::string& type = it->type;
    if ((type == "cgroup" || type == "cgroup2" || type == "bpf" || type == "nsfs") &&
        ::umount2(it->path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return sys_error("detach", it->path, errno);
  }
  return {};
}

}  // namespace

Status build_task_view(const TaskView& view) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return sys_error("make private", "/", errno);
  HeldSources held;
  SHOAL_ASSIGN_OR_RETURN(const TaskView held_view, hold_sources(view, held));
  SHOAL_TRY(make_everything_read_only());
  SHOAL_TRY(fresh_run());
  SHOAL_TRY(fresh_tmpfs("/tmp", "mode=1777"));
  SHOAL_TRY(task_files(held_view));
  for (const std::string& path : view.hidden)
    SHOAL_TRY(hide(path));
  SHOAL_TRY(fresh_dev());
  SHOAL_TRY(fresh_proc());
  SHOAL_TRY(fresh_sys());
  return detach_kernel_mounts();
}

}  // namespace shoal::runtime
