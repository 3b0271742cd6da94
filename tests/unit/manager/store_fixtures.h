// Store factories for the typed store suite: each makes an empty store, and "reopens" it the way
// a restarted manager would (the in-memory store can only hand back the same object; the SQLite
// store is closed and opened again from its file).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>

#include "control/manager/store/memory_store.h"
#include "control/manager/store/sqlite_store.h"

namespace shoal::manager {

struct MemoryStoreFactory {
  std::unique_ptr<Store> make() { return std::make_unique<MemoryStore>(); }
  std::unique_ptr<Store> reopen(std::unique_ptr<Store> store) { return store; }
};

class SqliteStoreFactory {
 public:
  SqliteStoreFactory()
      : dir_(std::filesystem::temp_directory_path() /
             ("shoal-store-test-" + std::to_string(std::random_device()()))) {
    std::filesystem::create_directories(dir_);
  }
  ~SqliteStoreFactory() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  SqliteStoreFactory(const SqliteStoreFactory&) = delete;
  SqliteStoreFactory& operator=(const SqliteStoreFactory&) = delete;

  std::unique_ptr<Store> make() { return open(); }
  std::unique_ptr<Store> reopen(std::unique_ptr<Store> store) {
    store.reset();  // closed first, as when the process exits
    return open();
  }

 private:
  std::unique_ptr<Store> open() {
    auto store = SqliteStore::open((dir_ / "state.db").string());
    EXPECT_TRUE(store.ok()) << store.error().message();
    return store.ok() ? std::unique_ptr<Store>(std::move(store).value()) : nullptr;
  }
  std::filesystem::path dir_;
};

using StoreFactories = ::testing::Types<MemoryStoreFactory, SqliteStoreFactory>;

}  // namespace shoal::manager
