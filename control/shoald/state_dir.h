// shoald's state directory (`--state-dir`): the node key, on a manager the root CA key and the
// store, and the CLI socket. Whoever can replace or write into it, or into a directory above
// it, owns the node: they can move the socket away and plant certificates (security review #9:
// a nobody-owned directory behind a symbolic link was taken as it was).
//
// So it is opened once, at start, and refused unless, as sshd's StrictModes checks a user's
// files:
//   - the directory is not a symbolic link, is owned by shoald's user (root) and is not
//     writable by group or others (it is then made 0700: nothing in it is for other users);
//   - every directory above it is owned by root and not writable by group or others, or, as
//     /tmp, has the sticky bit (others may add entries there but not rename or remove root's).
// Symbolic links above it are resolved once (realpath) and every directory of the real path is
// checked; shoald then uses only that path, so a link changed later does not move it. Missing
// directories are created: the state directory 0700, those above it 0755.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace shoal::shoald {

class StateDir {
 public:
  static Result<StateDir> open(const std::string& path);

  // The real path (no symbolic links), checked as above.
  const std::string& path() const { return path_; }
  // The directory, opened with O_DIRECTORY|O_NOFOLLOW, for *at() calls under it.
  int fd() const { return fd_.get(); }

 private:
  StateDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace shoal::shoald
