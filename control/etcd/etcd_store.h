// The cluster store of a swarm with several managers: the in-memory store, with every commit
// written to etcd first, fenced by the writer's leadership.
//
// Only the leader writes. Its commits are etcd transactions that apply only while
//   - the leadership key still has the create revision the leader won it at (a paused former
//     leader, whose lease has expired and whose key someone else now holds, cannot write), and
//   - the store's index key still holds the value of the last commit this store made (nobody
//     else wrote since).
// The index value carries a random token per commit. A write whose reply was lost is retried
// once; when it turns out to have applied already (the index holds its own token), it counts as
// done, so a retried commit never applies twice and never fails after applying. A commit that
// fails with its outcome unknown leaves the store "diverged": it refuses every later write until
// it is reopened from etcd, so memory never drifts from what etcd holds.
//
// Layout under the prefix: objects/<kind>/<id> = the codec's JSON; index = "<n>/<token>".
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "control/etcd/client.h"
#include "control/manager/store/memory_store.h"

namespace shoal::etcd {

struct Fence {
  std::string key{};  // the leadership key
  int64_t create_revision = 0;

  bool operator==(const Fence&) const = default;
};

class EtcdStore final : public manager::MemoryStore {
 public:
  // Loads every object under `prefix`. An empty prefix in etcd gives an empty store.
  static Result<std::unique_ptr<EtcdStore>> open(Client& client, std::string prefix, Fence fence);

  // Copies every object of `from` into etcd in one transaction (the move from the one-manager
  // store), fenced as a commit is. Refused when etcd already holds a store under `prefix`.
  static Status seed(Client& client, const std::string& prefix, const Fence& fence,
                     const manager::Store& from, uint64_t index);

  // True once a write failed with its outcome unknown: reopen the store.
  bool diverged() const;

 protected:
  Status persist(const std::vector<manager::Event>& events, uint64_t index) override;

 private:
  EtcdStore(Client& client, std::string prefix, Fence fence, std::string index_value)
      : client_(&client),
        prefix_(std::move(prefix)),
        fence_(std::move(fence)),
        index_value_(std::move(index_value)) {}
  Status commit(const Txn& txn, const std::string& new_index_value);

  Client* client_;
  std::string prefix_;
  Fence fence_;
  mutable std::mutex mutex_;
  std::string index_value_;  // as etcd holds it after our last commit
  bool diverged_ = false;
};

std::string object_key(const std::string& prefix, std::string_view kind, const std::string& id);
std::string index_key(const std::string& prefix);

}  // namespace shoal::etcd
