#include "common/atomic_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace shoal {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "shoal-atomic-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  // Names in the directory: after any call, only the target may be there.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  std::string dir_;
};

TEST_F(AtomicFile, WritesContentsWithExactMode) {
  const std::string path = dir_ + "/key";
  const mode_t old_umask = ::umask(0077);  // the mode asked for wins over the umask
  Status written = write_file_atomically(path, std::string("secret\0bytes", 12), 0640);
  ::umask(old_umask);
  ASSERT_TRUE(written.ok()) << written.error().message();
  EXPECT_EQ(slurp(path), std::string("secret\0bytes", 12));
  EXPECT_EQ(mode_of(path), 0640u);
  EXPECT_THAT(entries(), ::testing::ElementsAre("key"));
}

TEST_F(AtomicFile, ReplacesAnExistingFileWhole) {
  const std::string path = dir_ + "/state.json";
  ASSERT_TRUE(write_file_atomically(path, std::string(10000, 'x'), 0644).ok());
  ASSERT_TRUE(write_file_atomically(path, "short\n", 0600).ok());
  EXPECT_EQ(slurp(path), "short\n");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_THAT(entries(), ::testing::ElementsAre("state.json"));
}

TEST_F(AtomicFile, WritesAnEmptyFile) {
  const std::string path = dir_ + "/empty";
  ASSERT_TRUE(write_file_atomically(path, "", 0644).ok());
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST_F(AtomicFile, AtomicOnlyWritesTheSame) {
  const std::string path = dir_ + "/pid";
  ASSERT_TRUE(write_file_atomically(path, "old\n", 0644, Durability::kAtomicOnly).ok());
  ASSERT_TRUE(write_file_atomically(path, "12 34\n", 0644, Durability::kAtomicOnly).ok());
  EXPECT_EQ(slurp(path), "12 34\n");
  EXPECT_EQ(mode_of(path), 0644u);
  EXPECT_THAT(entries(), ::testing::ElementsAre("pid"));
}

TEST_F(AtomicFile, RelativePathUsesTheCurrentDirectory) {
  const auto cwd = fs::current_path();
  fs::current_path(dir_);
  Status written = write_file_atomically("backup", "data", 0600);
  fs::current_path(cwd);
  ASSERT_TRUE(written.ok()) << written.error().message();
  EXPECT_EQ(slurp(dir_ + "/backup"), "data");
}

TEST_F(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  const std::string path = dir_ + "/missing/file";
  Status written = write_file_atomically(path, "data", 0644);
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.error().message(), HasSubstr(path));
  EXPECT_THAT(written.error().message(), HasSubstr("create temporary file"));
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFile, DirectoryAtThePathIsAnErrorAndLeavesNoTemporaryFile) {
  const std::string path = dir_ + "/taken";
  ASSERT_TRUE(fs::create_directory(path));
  Status written = write_file_atomically(path, "data", 0644);
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.error().message(), HasSubstr("rename into place " + path));
  EXPECT_THAT(entries(), ::testing::ElementsAre("taken"));
  EXPECT_TRUE(fs::is_directory(path));
}

}  // namespace
}  // namespace shoal
