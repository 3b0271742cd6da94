#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "common/unique_fd.h"

namespace shoal {

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The rename is durable only once the directory entry is on disk. Some file systems (FUSE, a
// few network ones) cannot sync a directory and say EINVAL; the rename itself has still happened.
Status sync_directory(const std::string& dir, const std::string& path) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || (::fsync(fd.get()) != 0 && errno != EINVAL)) {
    return sys_error("sync directory of", path, errno);
  }
  return {};
}

// Fills the open temporary file and closes it; on failure the caller removes it.
Status fill(UniqueFd fd, const std::string& path, std::string_view contents, mode_t mode,
            Durability durability) {
  if (::fchmod(fd.get(), mode) != 0) {
    return sys_error("set mode of", path, errno);
  }
  SHOAL_TRY(write_all(fd.get(), contents, path));
  if (durability == Durability::kDurable && ::fsync(fd.get()) != 0) {
    return sys_error("sync", path, errno);
  }
  if (::close(fd.release()) != 0) {
    return sys_error("close", path, errno);
  }
  return {};
}

}  // namespace

Status write_all(int fd, std::string_view data, const std::string& path) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return sys_error("write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status write_file_atomically(const std::string& path, std::string_view contents, mode_t mode,
                             Durability durability) {
  std::string temp = path + ".tmp.XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return sys_error("create temporary file for", path, errno);
  }
  Status filled = fill(std::move(fd), path, contents, mode, durability);
  if (filled.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    filled = sys_error("rename into place", path, errno);
  }
  if (!filled.ok()) {
    ::unlink(temp.c_str());
    return filled;
  }
  if (durability == Durability::kAtomicOnly) {
    return {};
  }
  return sync_directory(directory_of(path), path);
}

}  // namespace shoal
