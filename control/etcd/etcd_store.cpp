#include "control/etcd/etcd_store.h"

#include <charconv>
#include <random>

#include "control/manager/store/codec.h"

namespace shoal::etcd {

namespace {

std::string make_index_value(uint64_t index) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char token[17];
  auto [end, ec] = std::to_chars(token, token + 16, random(), 16);
  return std::to_string(index) + "/" + std::string(token, end);
}

Result<uint64_t> parse_index(const std::string& value) {
  uint64_t index = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), index);
  if (ec != std::errc() || end == value.data() ||
      (end != value.data() + value.size() && *end != '/')) {
    return invalid_argument("store index in etcd", "\"" + value + "\" is not <number>/<token>");
  }
  return index;
}

std::string_view kind_of_key(std::string_view rest) {
  return rest.substr(0, rest.find('/'));
}

Error fenced_error(const Fence& fence) {
  return Error{.op = "write the swarm store",
               .object = "etcd",
               .detail = "this manager is no longer the leader (" + fence.key +
                         " is held by another manager): the write was refused"};
}

}  // namespace

std::string object_key(const std::string& prefix, std::string_view kind, const std::string& id) {
  return prefix + "objects/" + std::string(kind) + "/" + id;
}

std::string index_key(const std::string& prefix) {
  return prefix + "index";
}

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(Client& client, std::string prefix,
                                                   Fence fence) {
  SHOAL_ASSIGN_OR_RETURN(auto index_kv, client.get(index_key(prefix)));
  SHOAL_ASSIGN_OR_RETURN(auto rows, client.get_prefix(prefix + "objects/"));
  std::vector<manager::Object> objects;
  objects.reserve(rows.size());
  const size_t skip = prefix.size() + std::string_view("objects/").size();
  for (const auto& row : rows) {
    auto object = manager::decode(kind_of_key(std::string_view(row.key).substr(skip)), row.value);
    if (!object.ok()) {
      Error error = object.error();
      error.object = row.key + " in etcd: " + error.object;
      return error;
    }
    objects.push_back(std::move(*object));
  }
  uint64_t index = 0;
  std::string index_value;
  if (index_kv) {
    SHOAL_ASSIGN_OR_RETURN(index, parse_index(index_kv->value));
    index_value = index_kv->value;
  }
  std::unique_ptr<EtcdStore> store(
      new EtcdStore(client, std::move(prefix), std::move(fence), std::move(index_value)));
  store->load(std::move(objects), index);
  return store;
}

Status EtcdStore::seed(Client& client, const std::string& prefix, const Fence& fence,
                       const manager::Store& from, uint64_t index) {
  Txn txn;
  txn.if_created_at(fence.key, fence.create_revision).if_created_at(index_key(prefix), 0);
  auto put = [&](const manager::Object& object) {
    txn.put(object_key(prefix, manager::object_kind(object), manager::object_id(object)),
            manager::encode(object));
  };
  from.view([&](const manager::ReadTx& tx) {
    for (auto& node : tx.nodes())
      put(node);
    for (auto& network : tx.networks())
      put(network);
    for (auto& service : tx.services())
      put(service);
    for (auto& task : tx.tasks())
      put(task);
    for (auto& config : tx.configs())
      put(config);
  });
  txn.put(index_key(prefix), make_index_value(index));
  txn.otherwise_get(fence.key).otherwise_get(index_key(prefix));
  SHOAL_ASSIGN_OR_RETURN(auto result, client.commit(txn));
  if (result.succeeded) {
    return {};
  }
  if (result.gets.size() == 2 && result.gets[1]) {
    return Error{
        .op = "copy the swarm store into etcd",
        .object = prefix,
        .detail = "etcd already holds a store there (index " + result.gets[1]->value + ")"};
  }
  return fenced_error(fence);
}

bool EtcdStore::diverged() const {
  std::lock_guard lock(mutex_);
  return diverged_;
}

Status EtcdStore::persist(const std::vector<manager::Event>& events, uint64_t index) {
  std::lock_guard lock(mutex_);
  if (diverged_) {
    return Error{.op = "write the swarm store",
                 .object = "etcd",
                 .detail = "an earlier write has an unknown outcome; the store must be reloaded"};
  }
  const std::string new_index_value = make_index_value(index);
  Txn txn;
  txn.if_created_at(fence_.key, fence_.create_revision);
  if (index_value_.empty()) {
    txn.if_created_at(index_key(prefix_), 0);
  } else {
    txn.if_value(index_key(prefix_), index_value_);
  }
  for (const auto& event : events) {
    auto key =
        object_key(prefix_, manager::object_kind(event.object), manager::object_id(event.object));
    if (event.action == manager::EventAction::kRemove) {
      txn.erase(std::move(key));
    } else {
      txn.put(std::move(key), manager::encode(event.object));
    }
  }
  txn.put(index_key(prefix_), new_index_value);
  txn.otherwise_get(fence_.key).otherwise_get(index_key(prefix_));
  return commit(txn, new_index_value);
}

Status EtcdStore::commit(const Txn& txn, const std::string& new_index_value) {
  auto result = client_->commit(txn);
  if (!result.ok() && !is_no_quorum(result.error())) {
    // The reply may have been lost after etcd applied it: ask once more. Our own token in the
    // index key then says it applied; the compares make the retry apply nothing twice. Without
    // a quorum, asking again would only be slower to fail.
    result = client_->commit(txn);
  }
  if (!result.ok()) {
    diverged_ = true;  // the write may still apply later: memory can no longer be trusted
    return result.error();
  }
  if (result->succeeded) {
    index_value_ = new_index_value;
    return {};
  }
  const auto& leader = result->gets.size() > 0 ? result->gets[0] : std::nullopt;
  const auto& stored = result->gets.size() > 1 ? result->gets[1] : std::nullopt;
  if (stored && stored->value == new_index_value) {
    index_value_ = new_index_value;  // the lost reply's write
    return {};
  }
  if (!leader || leader->create_revision != fence_.create_revision) {
    return fenced_error(fence_);
  }
  diverged_ = true;
  return Error{.op = "write the swarm store",
               .object = "etcd",
               .detail = "the store changed under this manager (index " +
                         (stored ? stored->value : std::string("missing")) + ", expected " +
                         index_value_ + "); it must be reloaded"};
}

}  // namespace shoal::etcd
