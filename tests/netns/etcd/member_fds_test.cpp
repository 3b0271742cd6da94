// What the etcd member inherits from shoald (security review #16: it held shoald's gossip
// sockets, port 7946, and a pipe). The member is started as shoald starts it, with a stand-in
// for etcd (a script that becomes `sleep`), while this process holds descriptors opened without
// O_CLOEXEC, as libraries open theirs; the child must hold only stdin, stdout and stderr.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/close_fds.h"
#include "common/unique_fd.h"
#include "control/etcd/member.h"
#include "tests/support/temp_dir.h"

namespace shoal::etcd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing::TempDir;

std::set<int> open_fds(pid_t pid) {
  std::set<int> fds;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
    fds.insert(std::stoi(entry.path().filename().string()));
  return fds;
}

std::string exe_of(pid_t pid) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
}

TEST(EtcdMemberSpawn, TheMemberInheritsNoDescriptorOfShoald) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string stand_in = dir.path() + "/etcd";
  std::ofstream(stand_in) << "#!/bin/sh\nexec sleep 60\n";
  ::chmod(stand_in.c_str(), 0755);
  // Inheritable, as shoald's gossip sockets and pipe were.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd pipe_read(pipe_fds[0]), pipe_write(pipe_fds[1]);
  UniqueFd socket(::socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_TRUE(socket.valid());

  MemberConfig config;
  config.name = "m1";
  config.dir = dir.path() + "/member";
  config.peer_ip = "127.0.0.1";
  config.binary = stand_in;
  config.tls = Tls{"ca", "cert", "key"};
  auto member = Member::start(config);
  ASSERT_TRUE(member.ok()) << member.error().message();
  const pid_t pid = (*member)->pid();
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!exe_of(pid).ends_with("/sleep") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(exe_of(pid).ends_with("/sleep")) << exe_of(pid);
  EXPECT_EQ(open_fds(pid), (std::set<int>{0, 1, 2}))
      << "this process held " << pipe_read.get() << ", " << pipe_write.get() << " and "
      << socket.get() << " without O_CLOEXEC";
  (*member)->stop();
}

TEST(CloseFdsFrom, ClosesEveryDescriptorFromTheLowestUp) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close_fds_from(3);
    const bool closed = ::fcntl(pipe_fds[0], F_GETFD) < 0 && ::fcntl(pipe_fds[1], F_GETFD) < 0;
    const bool kept = ::fcntl(2, F_GETFD) >= 0;
    ::_exit(closed && kept ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace shoal::etcd
