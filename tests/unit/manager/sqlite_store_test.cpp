// What only the SQLite store has to prove: it survives a restart (objects, versions, the store
// index), and a damaged file is reported rather than half-loaded.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "tests/unit/manager/store_fixtures.h"

namespace shoal::manager {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest()
      : path_(std::filesystem::temp_directory_path() /
              ("shoal-sqlite-test-" + std::to_string(std::random_device()()) + ".db")) {}
  ~SqliteStoreTest() override {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }
  std::unique_ptr<SqliteStore> open() {
    auto store = SqliteStore::open(path_.string());
    EXPECT_TRUE(store.ok()) << store.error().message();
    return std::move(store).value();
  }
  std::filesystem::path path_;
};

TEST_F(SqliteStoreTest, NodesVersionsAndIndexSurviveARestart) {
  uint64_t index = 0;
  {
    auto store = open();
    ASSERT_TRUE(store
                    ->update([](WriteTx& tx) {
                      Node node;
                      node.id = "n1";
                      node.hostname = "h1";
                      node.role = NodeRole::kManager;
                      node.availability = NodeAvailability::kPause;
                      node.status = NodeStatus::kReady;
                      node.labels = {{"zone", "east"}};
                      node.addr = *Ipv4::parse("192.0.2.7");
                      return tx.create(node);
                    })
                    .ok());
    ASSERT_TRUE(store->update([](WriteTx& tx) { return tx.remove_node("n1"); }).ok());
    ASSERT_TRUE(store
                    ->update([](WriteTx& tx) {
                      Node node;
                      node.id = "n2";
                      node.labels = {{"zone", "west"}};
                      node.addr = *Ipv4::parse("192.0.2.8");
                      return tx.create(node);
                    })
                    .ok());
    index = store->index();
  }
  auto reopened = open();
  EXPECT_EQ(reopened->index(), index);
  reopened->view([&](const ReadTx& tx) {
    EXPECT_FALSE(tx.get_node("n1").has_value());  // the removal was persisted too
    auto node = *tx.get_node("n2");
    EXPECT_EQ(node.labels.at("zone"), "west");
    EXPECT_EQ(node.addr.str(), "192.0.2.8");
    EXPECT_EQ(node.version, index);
  });
  // The next commit continues the index, so versions never repeat across restarts.
  ASSERT_TRUE(reopened
                  ->update([](WriteTx& tx) {
                    auto node = *tx.get_node("n2");
                    node.hostname = "renamed";
                    return tx.update(node);
                  })
                  .ok());
  EXPECT_EQ(reopened->index(), index + 1);
}

TEST_F(SqliteStoreTest, DamagedRowIsAnError) {
  { open(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO objects VALUES ('task', 't1', '{not json')", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::open(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().message().rfind("invalid stored task: ", 0), 0u)
      << store.error().message();
}

TEST_F(SqliteStoreTest, UnopenablePathIsAnError) {
  auto store = SqliteStore::open("/nonexistent-dir/for/shoal/state.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().message(),
            "open store /nonexistent-dir/for/shoal/state.db: No such file or directory");
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Security review #17: store.db (configs, environments) was 0644, its WAL too.
TEST_F(SqliteStoreTest, TheStoreAndItsJournalFilesAreReadableByRootOnly) {
  const mode_t old_umask = ::umask(022);  // a permissive umask: the modes must not follow it
  {
    auto store = open();
    ASSERT_TRUE(store
                    ->update([](WriteTx& tx) {
                      Config config;
                      config.id = "c1";
                      config.name = "secret-ish";
                      config.data = "password=hunter2";
                      return tx.create(config);
                    })
                    .ok());
    for (const char* suffix : {"", "-wal", "-shm"})
      EXPECT_EQ(mode_of(path_.string() + suffix), 0600u) << suffix;
  }
  ::umask(old_umask);
}

TEST_F(SqliteStoreTest, AStoreLeftWiderByAnEarlierVersionIsNarrowed) {
  { open(); }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path_.string() + suffix;
    if (std::filesystem::exists(file))
      ::chmod(file.c_str(), 0644);
  }
  auto store = open();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path_.string() + suffix;
    if (std::filesystem::exists(file)) {
      EXPECT_EQ(mode_of(file), 0600u) << suffix;
    }
  }
}

TEST_F(SqliteStoreTest, AStorePathThatIsASymbolicLinkIsRefused) {
  const std::string target = path_.string() + "-elsewhere";
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  auto store = SqliteStore::open(path_.string());
  EXPECT_FALSE(store.ok());
  EXPECT_FALSE(std::filesystem::exists(target)) << "nothing was created through the link";
  std::filesystem::remove(target);
}

}  // namespace
}  // namespace shoal::manager
