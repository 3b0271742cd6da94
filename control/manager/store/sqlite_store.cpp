#include "control/manager/store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/unique_fd.h"

#include "control/manager/store/codec.h"

namespace shoal::manager {

namespace {

// A prepared statement, finalized however the scope is left.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Error sqlite_error(sqlite3* db, const std::string& op, const std::string& path) {
  return Error{.op = op, .object = path, .errnum = 0, .detail = sqlite3_errmsg(db)};
}

void bind_text(sqlite3_stmt* stmt, int column, std::string_view text) {
  sqlite3_bind_text(stmt, column, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// The store holds configs and environments, so only root may read it. SQLite would create the
// file 0644 (less the umask) and gives its -wal and -shm files the database file's mode, so the
// file is made 0600 here first; a store an earlier version left wider is narrowed, with its
// journal files. Never through a symbolic link.
Status make_private(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid())
    return sys_error("open store", path, errno);
  if (::fchmod(fd.get(), 0600) != 0)
    return sys_error("set mode of store", path, errno);
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string journal = path + suffix;
    UniqueFd file(::open(journal.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file.valid() && errno == ENOENT)
      continue;
    if (!file.valid() || ::fchmod(file.get(), 0600) != 0)
      return sys_error("set mode of store", journal, errno);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  SHOAL_TRY(make_private(path));
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    Error error = sqlite_error(db, "open store", path);
    sqlite3_close(db);
    return error;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  SHOAL_TRY(store->exec("PRAGMA journal_mode=WAL"));
  SHOAL_TRY(store->exec(
      "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT NOT NULL, "
      "body TEXT NOT NULL, PRIMARY KEY (kind, id));"
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"));
  SHOAL_TRY(store->load_all());
  return store;
}

SqliteStore::~SqliteStore() {
  sqlite3_close(db_);
}

Status SqliteStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string detail = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return Error{.op = "store", .object = path_, .errnum = 0, .detail = detail};
  }
  return {};
}

Status SqliteStore::load_all() {
  std::vector<Object> objects;
  {
    Statement select(db_, "SELECT kind, body FROM objects");
    if (select.get() == nullptr) {
      return sqlite_error(db_, "read store", path_);
    }
    int rc = 0;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      auto text = [&](int column) {
        return std::string_view(
            reinterpret_cast<const char*>(sqlite3_column_text(select.get(), column)),
            static_cast<size_t>(sqlite3_column_bytes(select.get(), column)));
      };
      SHOAL_ASSIGN_OR_RETURN(auto object, decode(text(0), text(1)));
      objects.push_back(std::move(object));
    }
    if (rc != SQLITE_DONE) {
      return sqlite_error(db_, "read store", path_);
    }
  }
  uint64_t index = 0;
  Statement meta(db_, "SELECT value FROM meta WHERE key = 'index'");
  if (meta.get() != nullptr && sqlite3_step(meta.get()) == SQLITE_ROW) {
    index = static_cast<uint64_t>(sqlite3_column_int64(meta.get(), 0));
  }
  load(std::move(objects), index);
  return {};
}

Status SqliteStore::persist(const std::vector<Event>& events, uint64_t index) {
  SHOAL_TRY(exec("BEGIN"));
  auto write_all = [&]() -> Status {
    Statement upsert(db_, "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)");
    Statement remove(db_, "DELETE FROM objects WHERE kind = ? AND id = ?");
    Statement meta(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('index', ?)");
    if (upsert.get() == nullptr || remove.get() == nullptr || meta.get() == nullptr) {
      return sqlite_error(db_, "write store", path_);
    }
    for (const auto& event : events) {
      sqlite3_stmt* stmt = event.action == EventAction::kRemove ? remove.get() : upsert.get();
      sqlite3_reset(stmt);
      bind_text(stmt, 1, object_kind(event.object));
      bind_text(stmt, 2, object_id(event.object));
      if (event.action != EventAction::kRemove) {
        bind_text(stmt, 3, encode(event.object));
      }
      if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sqlite_error(db_, "write store", path_);
      }
    }
    sqlite3_bind_int64(meta.get(), 1, static_cast<sqlite3_int64>(index));
    if (sqlite3_step(meta.get()) != SQLITE_DONE) {
      return sqlite_error(db_, "write store", path_);
    }
    return {};
  };
  if (auto status = write_all(); !status.ok()) {
    (void)exec("ROLLBACK");
    return status;
  }
  if (auto status = exec("COMMIT"); !status.ok()) {
    (void)exec("ROLLBACK");
    return status;
  }
  return {};
}

}  // namespace shoal::manager
