#include "control/runtime/cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <sstream>
#include <thread>

#include "control/runtime/task_files.h"

namespace shoal::runtime {
namespace {

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) {
    return sys_error("create cgroup", path, errno);
  }
  return {};
}

Status remove_dir(const std::string& path) {
  // An exiting process can keep a cgroup busy for a moment after it left cgroup.procs.
  for (int attempt = 0;; ++attempt) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) {
      return {};
    }
    if (errno != EBUSY || attempt == 100) {
      return sys_error("remove cgroup", path, errno);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The fallback for kernels without cgroup.kill: kill what is listed, in this cgroup and below.
Status kill_listed(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory()) {
      SHOAL_TRY(kill_listed(entry.path()));
    }
  }
  auto procs = read_file(dir + "/cgroup.procs");
  if (!procs.ok()) {
    return procs.error().errnum == ENOENT ? Status() : Status(std::move(procs).error());
  }
  std::istringstream in(*procs);
  for (int pid = 0; in >> pid;) {
    ::kill(pid, SIGKILL);
  }
  return {};
}

}  // namespace

Status create_task_cgroup(const TaskCgroup& cgroup) {
  SHOAL_TRY(make_dir(cgroup.dir));
  SHOAL_TRY(make_dir(cgroup.shim()));
  return make_dir(cgroup.task());
}

Status remove_task_cgroup(const TaskCgroup& cgroup) {
  SHOAL_TRY(remove_dir(cgroup.task()));
  SHOAL_TRY(remove_dir(cgroup.shim()));
  return remove_dir(cgroup.dir);
}

Status join_cgroup(const std::string& dir) {
  Status written = write_file(dir + "/cgroup.procs", "0\n");
  if (!written.ok()) {
    return sys_error("join cgroup", dir, written.error().errnum);
  }
  return {};
}

Status kill_cgroup(const std::string& dir) {
  if (!path_exists(dir)) {
    return {};
  }
  if (path_exists(dir + "/cgroup.kill")) {
    return write_file(dir + "/cgroup.kill", "1\n");
  }
  // Without cgroup.kill a process can fork between the listing and the kill: repeat a few times.
  for (int round = 0; round < 10 && cgroup_populated(dir); ++round) {
    SHOAL_TRY(kill_listed(dir));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

bool cgroup_populated(const std::string& dir) {
  auto events = read_file(dir + "/cgroup.events");
  return events.ok() && events->find("populated 1") != std::string::npos;
}

Status wait_cgroup_empty(const std::string& dir, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (cgroup_populated(dir)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return sys_error("empty cgroup", dir, ETIMEDOUT);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {};
}

}  // namespace shoal::runtime
