// Store factories for the typed store suite: each makes an empty store, and "reopens" it the way
// a restarted manager would (the in-memory store can only hand back the same object).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "control/manager/memory_store.h"

namespace shoal::manager {

struct MemoryStoreFactory {
  std::unique_ptr<Store> make() { return std::make_unique<MemoryStore>(); }
  std::unique_ptr<Store> reopen(std::unique_ptr<Store> store) { return store; }
};

using StoreFactories = ::testing::Types<MemoryStoreFactory>;

}  // namespace shoal::manager
