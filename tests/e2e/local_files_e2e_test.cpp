// shoald's own files and limits, on a simulated host (security review #9, #17, #18): a state
// dir that another user controls is refused before anything is written; after a start every
// file has its mode; and a node whose tasks use ten full-size configs still takes its
// assignments (gRPC's 4 MiB default stopped it at about eight).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "control/manager/rules/types.h"
#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testbed.h"

namespace shoal::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return 0;
  return st.st_mode & 07777;
}

using testing::TempDir;

// shoald on `state_dir`, in a network namespace of its own (unshare), as a host would start it.
testing::CommandResult run_shoald(const std::string& state_dir) {
  auto result = testing::run_command(
      {"unshare", "--net", SHOALD_PATH, "--state-dir", state_dir, "--advertise-addr", "10.0.0.1"},
      10000);
  return result.ok() ? *result : testing::CommandResult{-1, result.error().message()};
}

void make_nobody_dir(const std::string& path) {
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path;
  ASSERT_EQ(::chown(path.c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
}

// Repro E: a nobody-owned directory behind a symbolic link was taken as the state dir.
TEST(ShoaldStateDir, ASymbolicLinkToAnotherUsersDirectoryIsRefused) {
  if (::geteuid() != 0)
    GTEST_SKIP() << kNeedsRoot;
  TempDir dir;
  make_nobody_dir(dir.at("victim"));
  ASSERT_EQ(::symlink(dir.at("victim").c_str(), dir.at("h4link").c_str()), 0);
  auto result = run_shoald(dir.at("h4link"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output,
              HasSubstr("shoald: use state dir " + dir.at("h4link") + ": is a symbolic link"));
  EXPECT_TRUE(fs::is_empty(dir.at("victim"))) << "no socket, no certificates";
  EXPECT_EQ(mode_of(dir.at("victim")), 0755u);
}

TEST(ShoaldStateDir, ADirectoryOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0)
    GTEST_SKIP() << kNeedsRoot;
  TempDir dir;
  make_nobody_dir(dir.at("state"));
  auto result = run_shoald(dir.at("state"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output,
              HasSubstr("shoald: use state dir " + dir.at("state") + ": owned by uid 65534"));
  EXPECT_TRUE(fs::is_empty(dir.at("state")));
}

class ShoaldFiles : public SharedSwarmTest<ShoaldFiles> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = 1, .members = 1};
};

// Security review #17: modes after a start (init makes the manager's files too).
TEST_F(ShoaldFiles, EveryFileHasItsModeAfterAStart) {
  const std::string dir = c().state_dir(1);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(dir + "/shoald.sock"), 0600u);
  EXPECT_EQ(mode_of(dir + "/certificates"), 0700u);
  EXPECT_EQ(mode_of(dir + "/certificates/swarm-node.key"), 0600u);
  EXPECT_EQ(mode_of(dir + "/certificates/swarm-root-ca.key"), 0600u);
  EXPECT_EQ(mode_of(dir + "/manager"), 0700u);
  for (const char* store : {"/manager/store.db", "/manager/store.db-wal", "/manager/store.db-shm"})
    EXPECT_EQ(mode_of(dir + store), 0600u) << store;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_directory() && !entry.is_symlink()) {
      EXPECT_EQ(mode_of(entry.path()) & 077, 0u) << entry.path() << " open to group or others";
    }
  }
}

// Security review #18: ten configs of 500 KiB are a 5 MiB assignment.
TEST_F(ShoaldFiles, ANodeWhoseTasksUseTenFullSizeConfigsReceivesItsAssignments) {
  ASSERT_EQ(c().create_app_network(), "");
  TempDir files;
  std::vector<std::string> options;
  for (int i = 0; i < 10; ++i) {
    const std::string name = "big" + std::to_string(i);
    std::ofstream(files.at(name)) << std::string(manager::kMaxConfigSize - 1,
                                                 static_cast<char>('a' + i))
                                  << "\n";
    auto created = c().shoal(1, {"config", "create", name, files.at(name)});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    options.insert(options.end(), {"--config", name});
  }
  ASSERT_TRUE(c().create_service("manyconfigs", 1, "exec sleep 1000", options));
  EXPECT_TRUE(c().wait_running("manyconfigs", 1, std::chrono::seconds(60)));
  EXPECT_TRUE(c().remove_service("manyconfigs"));
  for (int i = 0; i < 10; ++i)
    c().shoal(1, {"config", "rm", "big" + std::to_string(i)});
  c().shoal(1, {"network", "rm", "app"});
}

}  // namespace
}  // namespace shoal::e2e
