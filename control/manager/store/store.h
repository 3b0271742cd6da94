// The manager's store: every node, network, service and task, behind an interface with
// transactions and watches.
//
// Reads happen in a view (a consistent snapshot for the duration of the callback). Writes happen
// in update(): the callback stages creates, updates and removals; if it returns an error, or any
// staged write is refused, nothing is applied (all-or-nothing). After a commit, every watcher
// receives the transaction's events in order, outside the store's lock, so a watcher may read
// the store; watchers should only note what changed and act later (the reconcile-loop shape).
//
// Versions: each commit increments the store index, and every object written in it gets that
// index as its version. update() must carry the version that was read, so a writer working from a
// stale copy gets an error instead of overwriting someone else's change.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

using Object = std::variant<Node, Network, Service, Task, Config>;
const std::string& object_id(const Object& object);
std::string_view object_kind(
    const Object& object);  // "node", "network", "service", "task", "config"

enum class EventAction { kCreate, kUpdate, kRemove };

struct Event {
  EventAction action = EventAction::kCreate;
  Object object;  // as committed; for kRemove, as it was before removal
};

class ReadTx {
 public:
  virtual ~ReadTx() = default;

  virtual std::optional<Node> get_node(const std::string& id) const = 0;
  virtual std::optional<Network> get_network(const std::string& id) const = 0;
  virtual std::optional<Service> get_service(const std::string& id) const = 0;
  virtual std::optional<Task> get_task(const std::string& id) const = 0;
  // Lists are ordered by id.
  virtual std::vector<Node> nodes() const = 0;
  virtual std::vector<Network> networks() const = 0;
  virtual std::vector<Service> services() const = 0;
  virtual std::vector<Task> tasks() const = 0;
  virtual std::optional<Config> get_config(const std::string& id) const = 0;
  virtual std::vector<Config> configs() const = 0;

  std::vector<Task> tasks_of_service(const std::string& service_id) const;
  std::optional<Network> network_by_name(const std::string& name) const;
  std::optional<Service> service_by_name(const std::string& name) const;
  std::optional<Config> config_by_name(const std::string& name) const;
};

class WriteTx : public ReadTx {
 public:
  // create() refuses an empty or existing id; update() a missing id or a stale version;
  // remove() a missing id.
  virtual Status create(Object object) = 0;
  virtual Status update(Object object) = 0;
  virtual Status remove_node(const std::string& id) = 0;
  virtual Status remove_network(const std::string& id) = 0;
  virtual Status remove_service(const std::string& id) = 0;
  virtual Status remove_task(const std::string& id) = 0;
  virtual Status remove_config(const std::string& id) = 0;
};

class Store {
 public:
  using Watcher = std::function<void(const std::vector<Event>&)>;
  using WatchId = uint64_t;

  virtual ~Store() = default;

  virtual void view(const std::function<void(const ReadTx&)>& reader) const = 0;
  virtual Status update(const std::function<Status(WriteTx&)>& writer) = 0;
  virtual WatchId watch(Watcher watcher) = 0;
  virtual void unwatch(WatchId id) = 0;
};

}  // namespace shoal::manager
