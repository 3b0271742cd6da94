#include "control/runtime/oci/rootfs_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <utility>

namespace shoal::runtime::oci {
namespace {

// mountinfo of a host with thousands of mounts stays far below this; more is not a mountinfo.
constexpr size_t kMaxMountinfoBytes = 64 * 1024 * 1024;
constexpr int kMaxStackedMounts = 16;

Result<std::string> read_mountinfo() {
  const int fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sys_error("open", "/proc/self/mountinfo", errno);
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return sys_error("read", "/proc/self/mountinfo", err);
    }
    if (n == 0)
      break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxMountinfoBytes) {
      ::close(fd);
      return Error{"read", "/proc/self/mountinfo", 0, "larger than 64 MiB"};
    }
  }
  ::close(fd);
  return text;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string digits = field.substr(i + 1, 3);
      if (digits.size() == 3 && digits.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(digits, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

// One mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
bool parse_line(const std::string& line, MountEntry& entry) {
  std::istringstream in(line);
  std::string field;
  std::vector<std::string> fields;
  while (in >> field)
    fields.push_back(field);
  size_t dash = 6;
  while (dash < fields.size() && fields[dash] != "-")
    ++dash;
  if (fields.size() < 5 || dash + 1 >= fields.size())
    return false;
  entry.root = unescape(fields[3]);
  entry.mount_point = unescape(fields[4]);
  entry.fstype = fields[dash + 1];
  entry.super_options = dash + 3 < fields.size() ? unescape(fields[dash + 3]) : "";
  return true;
}

bool within(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         (dir == "/" || path[dir.size()] == '/'));
}

Result<std::string> canonical_dir(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr)
    return sys_error("resolve", path, errno);
  struct stat st {};
  if (::stat(resolved, &st) != 0)
    return sys_error("stat", resolved, errno);
  if (!S_ISDIR(st.st_mode))
    return sys_error("use as a directory", resolved, ENOTDIR);
  return std::string(resolved);
}

// A directory that takes the lower root's mode and owner: the merged root directory is the
// upper's, so a 0700 upper would make the container's / unreadable to a non-root user.
Status make_layer_dir(const std::string& path, const struct stat& like) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return sys_error("create", path, errno);
  if (::chown(path.c_str(), like.st_uid, like.st_gid) != 0)
    return sys_error("chown", path, errno);
  if (::chmod(path.c_str(), like.st_mode & 07777) != 0)
    return sys_error("chmod", path, errno);
  return {};
}

Status remove_tree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error)
    return sys_error("remove", path, error.value());
  return {};
}

// The overlay's options, which adoption compares with what mountinfo shows.
std::string overlay_options(const std::string& lower, const std::string& upper,
                            const std::string& work) {
  return "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
}

bool option_syntax_safe(const std::string& path) {
  return path.find_first_of(",:\\\n") == std::string::npos;
}

// What is mounted on `path` (the last mount there), if anything.
Result<std::optional<MountEntry>> mount_on(const std::string& path) {
  SHOAL_ASSIGN_OR_RETURN(const auto mounts, mounts_under(path));
  std::optional<MountEntry> top;
  for (const auto& entry : mounts) {
    if (entry.mount_point == path)
      top = entry;
  }
  return top;
}

}  // namespace

Result<std::vector<MountEntry>> mounts_under(const std::string& dir) {
  SHOAL_ASSIGN_OR_RETURN(const std::string text, read_mountinfo());
  std::vector<MountEntry> found;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    MountEntry entry;
    if (parse_line(line, entry) && within(entry.mount_point, dir))
      found.push_back(std::move(entry));
  }
  return found;
}

Result<RootfsMount> RootfsMount::mount(const std::string& lower_dir,
                                       const std::string& bundle_dir) {
  SHOAL_ASSIGN_OR_RETURN(const std::string lower, canonical_dir(lower_dir));
  SHOAL_ASSIGN_OR_RETURN(const std::string bundle, canonical_dir(bundle_dir));
  for (const auto* path : {&lower, &bundle}) {
    if (!option_syntax_safe(*path))
      return invalid_argument(*path, "holds ',', ':' or '\\', which overlay options cannot carry");
  }
  RootfsMount result;
  result.rootfs_ = bundle + "/rootfs";
  result.upper_ = bundle + "/upper";
  result.work_ = bundle + "/work";
  const std::string options = overlay_options(lower, result.upper_, result.work_);

  SHOAL_ASSIGN_OR_RETURN(const auto existing, mount_on(result.rootfs_));
  if (existing) {
    // A restarted agent: the task's overlay is still there (and its container may run on it).
    if (existing->fstype != "overlay" || existing->super_options.find(options) == std::string::npos)
      return Error{
          "adopt the root file system", result.rootfs_, EBUSY,
          "already a mount of another kind: " + existing->fstype + " " + existing->super_options};
    result.adopted_ = true;
    return result;
  }

  struct stat lower_root {};
  if (::stat(lower.c_str(), &lower_root) != 0)
    return sys_error("stat", lower, errno);
  // From here on, `result` owns what exists: a failure below is undone by its destructor.
  for (const auto* dir : {&result.upper_, &result.work_, &result.rootfs_})
    SHOAL_TRY(make_layer_dir(*dir, lower_root));
  if (::mount("overlay", result.rootfs_.c_str(), "overlay", 0, options.c_str()) != 0)
    return sys_error("mount overlay on", result.rootfs_, errno, options);
  return result;
}

RootfsMount::RootfsMount(RootfsMount&& other) noexcept
    : rootfs_(std::exchange(other.rootfs_, {})),
      upper_(std::exchange(other.upper_, {})),
      work_(std::exchange(other.work_, {})),
      adopted_(other.adopted_) {}

RootfsMount& RootfsMount::operator=(RootfsMount&& other) noexcept {
  if (this != &other) {
    (void)release();
    rootfs_ = std::exchange(other.rootfs_, {});
    upper_ = std::exchange(other.upper_, {});
    work_ = std::exchange(other.work_, {});
    adopted_ = other.adopted_;
  }
  return *this;
}

RootfsMount::~RootfsMount() {
  (void)release();
}

void RootfsMount::leave_mounted() {
  rootfs_.clear();
  upper_.clear();
  work_.clear();
}

Status RootfsMount::release() {
  if (rootfs_.empty())
    return {};
  // Every mount on rootfs/ (one, unless someone stacked more), the topmost first; bounded, should
  // the kernel keep showing a mount it says it removed.
  for (int round = 0; round < kMaxStackedMounts; ++round) {
    SHOAL_ASSIGN_OR_RETURN(const auto top, mount_on(rootfs_));
    if (!top)
      break;
    if (::umount2(rootfs_.c_str(), UMOUNT_NOFOLLOW) != 0 &&
        ::umount2(rootfs_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
      return sys_error("unmount", rootfs_, errno);
  }
  // rmdir, not a recursive removal: should anything still be mounted there, this fails rather
  // than deleting through the mount.
  if (::rmdir(rootfs_.c_str()) != 0 && errno != ENOENT)
    return sys_error("remove", rootfs_, errno);
  SHOAL_TRY(remove_tree(upper_));
  SHOAL_TRY(remove_tree(work_));
  rootfs_.clear();
  upper_.clear();
  work_.clear();
  return {};
}

}  // namespace shoal::runtime::oci
