#include "control/manager/store/memory_store.h"

#include <utility>

namespace shoal::manager {

namespace {

template <typename T>
std::map<std::string, T>& table_of(MemoryStore::Tables& tables) {
  if constexpr (std::is_same_v<T, Node>) {
    return tables.nodes;
  } else if constexpr (std::is_same_v<T, Network>) {
    return tables.networks;
  } else if constexpr (std::is_same_v<T, Service>) {
    return tables.services;
  } else if constexpr (std::is_same_v<T, Task>) {
    return tables.tasks;
  } else {
    return tables.configs;
  }
}

// Staged changes to one table: a value to write, or nullopt for a removal.
template <typename T>
using Staged = std::map<std::string, std::optional<T>>;

template <typename T>
std::optional<T> staged_get(const std::map<std::string, T>& base, const Staged<T>& staged,
                            const std::string& id) {
  if (auto it = staged.find(id); it != staged.end()) {
    return it->second;
  }
  if (auto it = base.find(id); it != base.end()) {
    return it->second;
  }
  return std::nullopt;
}

template <typename T>
std::vector<T> staged_list(const std::map<std::string, T>& base, const Staged<T>& staged) {
  std::vector<T> out;
  out.reserve(base.size() + staged.size());
  auto s = staged.begin();
  for (const auto& [id, value] : base) {
    for (; s != staged.end() && s->first < id; ++s) {
      if (s->second) {
        out.push_back(*s->second);
      }
    }
    if (s != staged.end() && s->first == id) {
      if (s->second) {
        out.push_back(*s->second);
      }
      ++s;
      continue;
    }
    out.push_back(value);
  }
  for (; s != staged.end(); ++s) {
    if (s->second) {
      out.push_back(*s->second);
    }
  }
  return out;
}

class ReadView final : public ReadTx {
 public:
  explicit ReadView(const MemoryStore::Tables& tables) : tables_(tables) {}

  std::optional<Node> get_node(const std::string& id) const override {
    return find(tables_.nodes, id);
  }
  std::optional<Network> get_network(const std::string& id) const override {
    return find(tables_.networks, id);
  }
  std::optional<Service> get_service(const std::string& id) const override {
    return find(tables_.services, id);
  }
  std::optional<Task> get_task(const std::string& id) const override {
    return find(tables_.tasks, id);
  }
  std::vector<Node> nodes() const override { return values(tables_.nodes); }
  std::vector<Network> networks() const override { return values(tables_.networks); }
  std::vector<Service> services() const override { return values(tables_.services); }
  std::vector<Task> tasks() const override { return values(tables_.tasks); }
  std::optional<Config> get_config(const std::string& id) const override {
    return find(tables_.configs, id);
  }
  std::vector<Config> configs() const override { return values(tables_.configs); }

 private:
  template <typename T>
  static std::optional<T> find(const std::map<std::string, T>& table, const std::string& id) {
    auto it = table.find(id);
    return it == table.end() ? std::nullopt : std::optional<T>(it->second);
  }
  template <typename T>
  static std::vector<T> values(const std::map<std::string, T>& table) {
    std::vector<T> out;
    out.reserve(table.size());
    for (const auto& [id, value] : table) {
      out.push_back(value);
    }
    return out;
  }

  const MemoryStore::Tables& tables_;
};

class Transaction final : public WriteTx {
 public:
  explicit Transaction(MemoryStore::Tables& tables) : tables_(tables) {}

  std::optional<Node> get_node(const std::string& id) const override {
    return staged_get(tables_.nodes, nodes_, id);
  }
  std::optional<Network> get_network(const std::string& id) const override {
    return staged_get(tables_.networks, networks_, id);
  }
  std::optional<Service> get_service(const std::string& id) const override {
    return staged_get(tables_.services, services_, id);
  }
  std::optional<Task> get_task(const std::string& id) const override {
    return staged_get(tables_.tasks, tasks_, id);
  }
  std::vector<Node> nodes() const override { return staged_list(tables_.nodes, nodes_); }
  std::vector<Network> networks() const override {
    return staged_list(tables_.networks, networks_);
  }
  std::vector<Service> services() const override {
    return staged_list(tables_.services, services_);
  }
  std::vector<Task> tasks() const override { return staged_list(tables_.tasks, tasks_); }
  std::optional<Config> get_config(const std::string& id) const override {
    return staged_get(tables_.configs, configs_, id);
  }
  std::vector<Config> configs() const override { return staged_list(tables_.configs, configs_); }

  Status create(Object object) override {
    return std::visit([this](auto& value) { return stage_write(std::move(value), true); }, object);
  }
  Status update(Object object) override {
    return std::visit([this](auto& value) { return stage_write(std::move(value), false); }, object);
  }
  Status remove_node(const std::string& id) override { return stage_remove<Node>(id); }
  Status remove_network(const std::string& id) override { return stage_remove<Network>(id); }
  Status remove_service(const std::string& id) override { return stage_remove<Service>(id); }
  Status remove_task(const std::string& id) override { return stage_remove<Task>(id); }
  Status remove_config(const std::string& id) override { return stage_remove<Config>(id); }

  // Applies every staged change with `index` as the new version; returns the events in the order
  // the writes were staged.
  std::vector<Event> events(uint64_t index) const {
    std::vector<Event> out;
    out.reserve(order_.size());
    for (const auto& [kind, id] : order_) {
      switch (kind) {
        case 0:
          append_event(out, tables_.nodes, nodes_, id, index);
          break;
        case 1:
          append_event(out, tables_.networks, networks_, id, index);
          break;
        case 2:
          append_event(out, tables_.services, services_, id, index);
          break;
        case 3:
          append_event(out, tables_.tasks, tasks_, id, index);
          break;
        default:
          append_event(out, tables_.configs, configs_, id, index);
          break;
      }
    }
    return out;
  }

  void apply(const std::vector<Event>& events) {
    for (const auto& event : events) {
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            auto& table = table_of<T>(tables_);
            if (event.action == EventAction::kRemove) {
              table.erase(value.id);
            } else {
              table.insert_or_assign(value.id, value);
            }
          },
          event.object);
    }
  }

 private:
  template <typename T>
  static constexpr int kind_of() {
    if constexpr (std::is_same_v<T, Node>) {
      return 0;
    } else if constexpr (std::is_same_v<T, Network>) {
      return 1;
    } else if constexpr (std::is_same_v<T, Service>) {
      return 2;
    } else if constexpr (std::is_same_v<T, Task>) {
      return 3;
    } else {
      return 4;
    }
  }

  template <typename T>
  Staged<T>& staged_of() {
    if constexpr (std::is_same_v<T, Node>) {
      return nodes_;
    } else if constexpr (std::is_same_v<T, Network>) {
      return networks_;
    } else if constexpr (std::is_same_v<T, Service>) {
      return services_;
    } else if constexpr (std::is_same_v<T, Task>) {
      return tasks_;
    } else {
      return configs_;
    }
  }

  template <typename T>
  Status stage_write(T value, bool create) {
    auto kind = object_kind(Object(T{}));
    if (value.id.empty()) {
      return invalid_argument(std::string(kind), "an object needs an id");
    }
    auto& staged = staged_of<T>();
    auto current = staged_get(table_of<T>(tables_), staged, value.id);
    if (create && current) {
      return invalid_argument(std::string(kind) + " " + value.id, "already exists");
    }
    if (!create) {
      if (!current) {
        return invalid_argument(std::string(kind) + " " + value.id, "does not exist");
      }
      if (current->version != value.version) {
        return invalid_argument(std::string(kind) + " " + value.id,
                                "update from version " + std::to_string(value.version) +
                                    " but the store holds version " +
                                    std::to_string(current->version));
      }
    }
    bool first_touch = !staged.contains(value.id);
    std::string id = value.id;
    staged.insert_or_assign(id, std::move(value));
    if (first_touch) {
      order_.emplace_back(kind_of<T>(), id);
    }
    return {};
  }

  template <typename T>
  Status stage_remove(const std::string& id) {
    auto& staged = staged_of<T>();
    if (!staged_get(table_of<T>(tables_), staged, id)) {
      return invalid_argument(std::string(object_kind(Object(T{}))) + " " + id, "does not exist");
    }
    bool first_touch = !staged.contains(id);
    staged.insert_or_assign(id, std::nullopt);
    if (first_touch) {
      order_.emplace_back(kind_of<T>(), id);
    }
    return {};
  }

  // The event's action is decided at commit from what the base table holds, so a create then a
  // remove in one transaction produces nothing, and a remove then a create an update.
  template <typename T>
  static void append_event(std::vector<Event>& out, const std::map<std::string, T>& base,
                           const Staged<T>& staged, const std::string& id, uint64_t index) {
    const auto& value = staged.at(id);
    auto existing = base.find(id);
    bool existed = existing != base.end();
    if (!value) {
      if (existed) {
        out.push_back(Event{.action = EventAction::kRemove, .object = existing->second});
      }
      return;
    }
    T written = *value;
    written.version = index;
    out.push_back(Event{.action = existed ? EventAction::kUpdate : EventAction::kCreate,
                        .object = std::move(written)});
  }

  MemoryStore::Tables& tables_;
  Staged<Node> nodes_;
  Staged<Network> networks_;
  Staged<Service> services_;
  Staged<Task> tasks_;
  Staged<Config> configs_;
  std::vector<std::pair<int, std::string>> order_;  // first touch of each (kind, id)
};

thread_local bool delivering_on_this_thread = false;

}  // namespace

void MemoryStore::view(const std::function<void(const ReadTx&)>& reader) const {
  std::shared_lock lock(mutex_);
  ReadView snapshot(tables_);
  reader(snapshot);
}

Status MemoryStore::update(const std::function<Status(WriteTx&)>& writer) {
  std::vector<Event> events;
  {
    std::unique_lock lock(mutex_);
    Transaction tx(tables_);
    SHOAL_TRY(writer(tx));
    events = tx.events(index_ + 1);
    if (events.empty()) {
      return {};
    }
    SHOAL_TRY(persist(events, index_ + 1));
    tx.apply(events);
    ++index_;
    std::lock_guard queue_lock(queue_mutex_);
    queue_.push_back(events);
  }
  deliver(std::move(events));
  return {};
}

void MemoryStore::deliver(std::vector<Event>) {
  // A watcher that writes to the store from its callback lands here again on the same thread:
  // its events are already queued, and the outer loop below delivers them after the current ones.
  if (delivering_on_this_thread) {
    return;
  }
  std::lock_guard delivery(delivery_mutex_);
  delivering_on_this_thread = true;
  for (;;) {
    std::vector<Event> batch;
    std::vector<Watcher> watchers;
    {
      std::lock_guard queue_lock(queue_mutex_);
      if (queue_.empty()) {
        break;
      }
      batch = std::move(queue_.front());
      queue_.pop_front();
      for (const auto& [id, watcher] : watchers_) {
        watchers.push_back(watcher);
      }
    }
    for (const auto& watcher : watchers) {
      watcher(batch);
    }
  }
  delivering_on_this_thread = false;
}

Store::WatchId MemoryStore::watch(Watcher watcher) {
  std::lock_guard queue_lock(queue_mutex_);
  WatchId id = next_watch_id_++;
  watchers_.emplace(id, std::move(watcher));
  return id;
}

void MemoryStore::unwatch(WatchId id) {
  std::lock_guard queue_lock(queue_mutex_);
  watchers_.erase(id);
}

uint64_t MemoryStore::index() const {
  std::shared_lock lock(mutex_);
  return index_;
}

Status MemoryStore::persist(const std::vector<Event>&, uint64_t) {
  return {};
}

void MemoryStore::load(std::vector<Object> objects, uint64_t index) {
  std::unique_lock lock(mutex_);
  tables_ = Tables{};
  for (auto& object : objects) {
    std::visit(
        [this](auto& value) {
          using T = std::decay_t<decltype(value)>;
          std::string id = value.id;
          table_of<T>(tables_).insert_or_assign(std::move(id), std::move(value));
        },
        object);
  }
  index_ = index;
}

}  // namespace shoal::manager
