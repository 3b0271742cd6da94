// The embedded default store: the in-memory store, with every commit written through to SQLite
// first, so a manager restart loses nothing.
//
// Reads are served from memory (the tables are loaded once at open); each commit becomes one
// SQLite transaction (upserts and deletes of JSON rows, plus the store index) that must succeed
// before the commit becomes visible, so memory and disk never disagree. WAL journal: a crash of
// the process loses no committed transaction.
#pragma once

#include <memory>
#include <string>

#include "control/manager/store/memory_store.h"

struct sqlite3;

namespace shoal::manager {

class SqliteStore final : public MemoryStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;

 protected:
  Status persist(const std::vector<Event>& events, uint64_t index) override;

 private:
  SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status exec(const char* sql);
  Status load_all();

  sqlite3* db_;
  std::string path_;
};

}  // namespace shoal::manager
