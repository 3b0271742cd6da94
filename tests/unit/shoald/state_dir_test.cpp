// The state directory's checks (security review #9), as root on the real file system, written
// as the attacks: the state dir given as a symbolic link to a directory another user owns, a
// directory another user owns, and directories above it that someone else could change. Each
// test works in a temporary directory of its own under /tmp, removed whatever happens.
#include "control/shoald/state_dir.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace shoal::shoald {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

struct Owner {
  uid_t uid;
  mode_t mode;
};

Owner owner_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return {st.st_uid, st.st_mode & 07777};
}

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (directories owned by other users)";
    char pattern[] = "/tmp/shoal-state-dir-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!root_.empty())
      fs::remove_all(root_, ignored);
  }
  std::string at(const std::string& name) const { return root_ + "/" + name; }
  void make_dir(const std::string& path, uid_t uid, mode_t mode) {
    ASSERT_EQ(::mkdir(path.c_str(), 0700), 0) << path;
    ASSERT_EQ(::chown(path.c_str(), uid, uid), 0);
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  std::string error_of(const std::string& path) {
    auto dir = StateDir::open(path);
    EXPECT_FALSE(dir.ok()) << path << " was accepted";
    return dir.ok() ? "" : dir.error().message();
  }

  std::string root_;
};

TEST_F(StateDirTest, AMissingDirectoryIsCreated0700WithItsParents) {
  auto dir = StateDir::open(at("a/b/state"));
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  EXPECT_EQ(dir->path(), at("a/b/state"));
  EXPECT_EQ(owner_of(at("a/b/state")).mode, 0700u);
  EXPECT_EQ(owner_of(at("a/b/state")).uid, 0u);
  EXPECT_GE(dir->fd(), 0);
}

TEST_F(StateDirTest, ARootDirectoryReadableByOthersIsNarrowedTo0700) {
  make_dir(at("state"), 0, 0755);
  auto dir = StateDir::open(at("state") + "/");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  EXPECT_EQ(dir->path(), at("state"));
  EXPECT_EQ(owner_of(at("state")).mode, 0700u);
}

// Repro E: a nobody-owned directory behind a symbolic link was chmod-ed 0700 and used; nobody
// then moved root's socket and planted certificates.
TEST_F(StateDirTest, ASymbolicLinkToAnotherUsersDirectoryIsRefusedAndLeftAlone) {
  make_dir(at("victim"), kNobody, 0755);
  ASSERT_EQ(::symlink(at("victim").c_str(), at("h4link").c_str()), 0);
  EXPECT_THAT(error_of(at("h4link")),
              HasSubstr("use state dir " + at("h4link") + ": is a symbolic link"));
  EXPECT_EQ(owner_of(at("victim")).mode, 0755u) << "not chmod-ed";
  EXPECT_TRUE(fs::is_empty(at("victim")));
}

TEST_F(StateDirTest, ASymbolicLinkToARootDirectoryIsRefusedToo) {
  make_dir(at("real"), 0, 0700);
  ASSERT_EQ(::symlink(at("real").c_str(), at("link").c_str()), 0);
  EXPECT_THAT(error_of(at("link")), HasSubstr("is a symbolic link"));
}

TEST_F(StateDirTest, ADirectoryOwnedByAnotherUserIsRefusedAndLeftAlone) {
  make_dir(at("state"), kNobody, 0755);
  EXPECT_THAT(error_of(at("state")),
              HasSubstr("use state dir " + at("state") + ": owned by uid 65534, not by shoald's"));
  EXPECT_EQ(owner_of(at("state")).mode, 0755u) << "not chmod-ed";
}

TEST_F(StateDirTest, ADirectoryWritableByGroupOrOthersIsRefused) {
  make_dir(at("state"), 0, 0770);
  EXPECT_THAT(error_of(at("state")), HasSubstr("writable by group or others (mode 0770)"));
  ::chmod(at("state").c_str(), 01777);
  EXPECT_THAT(error_of(at("state")), HasSubstr("writable by group or others (mode 1777)"));
}

TEST_F(StateDirTest, AParentOwnedByAnotherUserIsRefused) {
  make_dir(at("theirs"), kNobody, 0755);
  const std::string state = at("theirs") + "/state";
  EXPECT_THAT(error_of(state), HasSubstr(at("theirs") + " above it is owned by uid 65534"));
  EXPECT_FALSE(fs::exists(state)) << "nothing created under a parent that is refused";
  EXPECT_THAT(error_of(at("theirs") + "/sub/state"), HasSubstr("owned by uid 65534"));
  EXPECT_FALSE(fs::exists(at("theirs") + "/sub")) << "nor above the state dir";
}

TEST_F(StateDirTest, AParentWritableByOthersIsRefusedUnlessSticky) {
  make_dir(at("shared"), 0, 0777);
  EXPECT_THAT(error_of(at("shared") + "/state"),
              HasSubstr(at("shared") + " above it is writable by group or others (mode 0777"));
  // Like /tmp: others may add entries but not rename or remove root's.
  ::chmod(at("shared").c_str(), 01777);
  auto dir = StateDir::open(at("shared") + "/state");
  EXPECT_TRUE(dir.ok()) << dir.error().message();
}

TEST_F(StateDirTest, ASymbolicLinkAboveIsResolvedOnceAndTheRealPathUsed) {
  make_dir(at("real"), 0, 0755);
  ASSERT_EQ(::symlink(at("real").c_str(), at("alias").c_str()), 0);
  auto dir = StateDir::open(at("alias") + "/state");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  EXPECT_EQ(dir->path(), at("real") + "/state");
}

TEST_F(StateDirTest, AFileIsNotADirectory) {
  ASSERT_EQ(::close(::creat(at("file").c_str(), 0600)), 0);
  EXPECT_THAT(error_of(at("file")), HasSubstr("not a directory"));
}

}  // namespace
}  // namespace shoal::shoald
