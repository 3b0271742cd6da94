#include "control/shoald/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace shoal::shoald {

namespace {

namespace fs = std::filesystem;

Error refused(const std::string& path, const std::string& why) {
  return Error{"use state dir", path, 0, why};
}

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// A directory above the state dir: root's, and writable by nobody else unless sticky.
Status check_parent(const std::string& path, const std::string& state_dir) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return sys_error("check", path, errno, "above the state dir " + state_dir);
  if (!S_ISDIR(st.st_mode))
    return refused(state_dir, path + " above it is not a directory");
  if (st.st_uid != 0) {
    return refused(state_dir, path + " above it is owned by uid " + std::to_string(st.st_uid) +
                                  ", not by root: its owner could replace the state dir");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return refused(state_dir, path + " above it is writable by group or others (mode " +
                                  octal(st.st_mode) + ", no sticky bit): they could replace " +
                                  "the state dir");
  }
  return {};
}

// Every directory of the real path `dir`, from / down.
Status check_parents(const fs::path& dir, const std::string& state_dir) {
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    SHOAL_TRY(check_parent(partial.string(), state_dir));
  }
  return {};
}

Result<std::string> real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  if (!real)
    return sys_error("resolve", path, errno, "above the state dir");
  return std::string(real.get());
}

// Walks `dir` from / down and returns its real path: each directory is checked before anything
// is created in it or a link in it is followed, so nothing is made under a directory someone
// else controls. Missing directories are created 0755.
Result<std::string> checked_parents(const fs::path& dir, const fs::path& name) {
  const std::string state_dir = (dir / name).string();
  fs::path real = "/";
  SHOAL_TRY(check_parent(real.string(), state_dir));
  for (const auto& part : dir.relative_path()) {
    const fs::path next = real / part;
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0 && errno == ENOENT) {
      if (::mkdir(next.c_str(), 0755) != 0 && errno != EEXIST)
        return sys_error("create directory", next.string(), errno, "above the state dir");
    }
    if (::lstat(next.c_str(), &st) != 0)
      return sys_error("check", next.string(), errno, "above the state dir " + state_dir);
    if (S_ISLNK(st.st_mode)) {
      // The link sits in a checked directory, so root made it; where it leads is checked whole.
      SHOAL_ASSIGN_OR_RETURN(std::string target, real_path(next.string()));
      SHOAL_TRY(check_parents(target, state_dir));
      real = target;
    } else {
      SHOAL_TRY(check_parent(next.string(), state_dir));
      real = next;
    }
  }
  return real.string();
}

// The state dir itself, already opened without following a link.
Status check_own(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return sys_error("check state dir", path, errno);
  if (st.st_uid != ::geteuid()) {
    return refused(path, "owned by uid " + std::to_string(st.st_uid) + ", not by shoald's uid " +
                             std::to_string(::geteuid()) +
                             ": its owner could move the socket and plant certificates");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return refused(path, "writable by group or others (mode " + octal(st.st_mode) +
                             "): make it 0700 or use another directory");
  }
  if ((st.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0)
    return sys_error("make state dir 0700", path, errno);
  return {};
}

}  // namespace

Result<StateDir> StateDir::open(const std::string& given) {
  if (given.empty())
    return invalid_argument("state dir", "is empty");
  std::error_code ec;
  const fs::path absolute = fs::absolute(given, ec).lexically_normal();
  if (ec)
    return sys_error("resolve state dir", given, ec.value());
  fs::path name = absolute.filename();
  fs::path parent = absolute.parent_path();
  if (name.empty()) {  // "/srv/shoal/"
    name = parent.filename();
    parent = parent.parent_path();
  }
  if (name.empty() || name == "..")
    return invalid_argument("state dir " + given, "names no directory");
  SHOAL_ASSIGN_OR_RETURN(std::string real_parent, checked_parents(parent, name));
  const std::string path = (fs::path(real_parent) / name).string();

  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return sys_error("create state dir", path, errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return refused(path,
                   "is a symbolic link: give the real directory (whoever can change the "
                   "link can move the state)");
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    return sys_error("open state dir", path, err,
                     err == ELOOP     ? "a symbolic link"
                     : err == ENOTDIR ? "not a directory"
                                      : "");
  }
  SHOAL_TRY(check_own(fd.get(), path));
  return StateDir(path, std::move(fd));
}

}  // namespace shoal::shoald
