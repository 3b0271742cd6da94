#include "gossip/networkdb/table_store.h"

#include <algorithm>

namespace shoal::gossip::networkdb {

namespace {
constexpr int32_t kDeleteResidualSeconds = 1800;  // what networkdb puts in its own deletes

Duration seconds(int32_t s) {
  return std::chrono::seconds(s);
}
}  // namespace

bool TableStore::attached(const std::string& node, const std::string& network) const {
  auto it = attachments_.find({node, network});
  return it != attachments_.end() && !it->second.leaving;
}

bool TableStore::in_network(const std::string& network) const {
  return attached(self_, network);
}

void TableStore::notify(WatchEventType type, const Key& k, const TableEntry& e) {
  const auto& [table, network, key] = k;
  const WatchEvent event{type, table, network, key, e.value, e.owner};
  // Copy first: a watcher may add or remove watchers.
  auto watchers = watchers_;
  for (const auto& [id, w] : watchers) {
    if (w.first.empty() || w.first == table)
      w.second(event);
  }
}

TableStore::WatchId TableStore::watch(std::string table, Watcher watcher) {
  const WatchId id = next_watch_++;
  watchers_[id] = {std::move(table), std::move(watcher)};
  return id;
}

Result<TableEvent> TableStore::local_write(TableEventType type, const std::string& table,
                                           const std::string& network, const std::string& key,
                                           Bytes value, TimePoint now) {
  if (!in_network(network)) {
    return invalid_argument(network, "this node has not joined the network");
  }
  const Key k{table, network, key};
  auto it = entries_.find(k);
  const bool live = it != entries_.end() && !it->second.deleting;
  if (type == TableEventType::kCreate && live) {
    return invalid_argument(table + "/" + key, "entry already exists");
  }
  if (type != TableEventType::kCreate && !live) {
    return invalid_argument(table + "/" + key, "no such entry");
  }
  if (type == TableEventType::kCreate && it == entries_.end() &&
      entries_.size() >= config_.max_entries) {
    return invalid_argument(table, "table store is full");
  }
  TableEntry& e = entries_[k];
  e.owner = self_;
  e.ltime = table_clock_.increment();
  e.hidden = false;
  TableEvent event{type, e.ltime, self_, network, table, key, {}, 0};
  if (type == TableEventType::kDelete) {
    e.deleting = true;
    e.reap_at = now + config_.reap_entry_interval;
    event.value = e.value;  // networkdb gossips the old value with a delete
    event.residual_reap_time = kDeleteResidualSeconds;
    notify(WatchEventType::kDelete, k, e);
  } else {
    e.deleting = false;
    e.value = std::move(value);
    event.value = e.value;
    notify(type == TableEventType::kCreate ? WatchEventType::kCreate : WatchEventType::kUpdate, k,
           e);
  }
  return event;
}

Result<TableEvent> TableStore::create(const std::string& table, const std::string& network,
                                      const std::string& key, Bytes value, TimePoint now) {
  return local_write(TableEventType::kCreate, table, network, key, std::move(value), now);
}
Result<TableEvent> TableStore::update(const std::string& table, const std::string& network,
                                      const std::string& key, Bytes value, TimePoint now) {
  return local_write(TableEventType::kUpdate, table, network, key, std::move(value), now);
}
Result<TableEvent> TableStore::remove(const std::string& table, const std::string& network,
                                      const std::string& key, TimePoint now) {
  return local_write(TableEventType::kDelete, table, network, key, {}, now);
}

bool TableStore::apply(const TableEvent& ev, TimePoint now) {
  table_clock_.witness(ev.ltime);
  if (ev.node_name == self_ || !in_network(ev.network_id) ||
      !attached(ev.node_name, ev.network_id)) {
    return false;
  }
  if (ev.type != TableEventType::kCreate && ev.type != TableEventType::kUpdate &&
      ev.type != TableEventType::kDelete) {
    return false;
  }
  const Key k{ev.table_name, ev.network_id, ev.key};
  auto it = entries_.find(k);
  if (it != entries_.end() && ev.ltime <= it->second.ltime)
    return false;
  if (it == entries_.end() && entries_.size() >= config_.max_entries)
    return false;
  const bool was_visible = it != entries_.end() && !it->second.deleting && !it->second.hidden;
  TableEntry& e = entries_[k];
  e.owner = ev.node_name;
  e.ltime = ev.ltime;
  e.value = ev.value;
  e.hidden = failed_nodes_.count(ev.node_name) > 0;
  if (ev.type == TableEventType::kDelete) {
    e.deleting = true;
    e.reap_at = now + (ev.residual_reap_time > 0 ? seconds(ev.residual_reap_time)
                                                 : config_.reap_entry_interval);
    if (was_visible)
      notify(WatchEventType::kDelete, k, e);
  } else {
    e.deleting = false;
    if (!e.hidden)
      notify(was_visible ? WatchEventType::kUpdate : WatchEventType::kCreate, k, e);
  }
  return true;
}

std::optional<TableEvent> TableStore::reclaim_own(const TableEvent& ev, TimePoint now) {
  table_clock_.witness(ev.ltime);  // what this node writes next is later than the peer's copy
  if (ev.node_name != self_ || !in_network(ev.network_id)) {
    return std::nullopt;
  }
  const Key k{ev.table_name, ev.network_id, ev.key};
  auto it = entries_.find(k);
  if (it != entries_.end() && it->second.ltime >= ev.ltime) {
    return std::nullopt;  // ours is the newer: the peers take it from our gossip
  }
  if (it != entries_.end() && !it->second.deleting) {
    auto again = local_write(TableEventType::kUpdate, ev.table_name, ev.network_id, ev.key,
                             it->second.value, now);
    return again.ok() ? std::optional(*again) : std::nullopt;
  }
  if (ev.type == TableEventType::kDelete) {
    return std::nullopt;  // gone at the peer too
  }
  if (it == entries_.end() && entries_.size() >= config_.max_entries) {
    return std::nullopt;
  }
  // A tombstone of our own, without telling our watchers: they never saw the entry.
  TableEntry& e = entries_[k];
  e.owner = self_;
  e.ltime = table_clock_.increment();
  e.value = ev.value;
  e.hidden = false;
  e.deleting = true;
  e.reap_at = now + config_.reap_entry_interval;
  return TableEvent{TableEventType::kDelete, e.ltime, self_,   ev.network_id,
                    ev.table_name,           ev.key,  e.value, kDeleteResidualSeconds};
}

void TableStore::delete_owner_entries(const std::string& owner, const std::string* network) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool match =
        it->second.owner == owner && (!network || std::get<1>(it->first) == *network);
    if (!match) {
      ++it;
      continue;
    }
    if (!it->second.deleting && !it->second.hidden) {
      notify(WatchEventType::kDelete, it->first, it->second);
    }
    it = entries_.erase(it);
  }
}

void TableStore::tombstone_owner_entries(const std::string& owner, const std::string& network,
                                         TimePoint now) {
  for (auto& [k, e] : entries_) {
    if (e.owner != owner || std::get<1>(k) != network || e.deleting)
      continue;
    if (!e.hidden)
      notify(WatchEventType::kDelete, k, e);
    e.deleting = true;
    e.reap_at = now + config_.reap_entry_interval;
  }
}

bool TableStore::apply(const NetworkEvent& ev, TimePoint now) {
  network_clock_.witness(ev.ltime);
  if (ev.node_name == self_)
    return false;
  if (ev.type != NetworkEventType::kJoin && ev.type != NetworkEventType::kLeave)
    return false;
  const AttachmentKey ak{ev.node_name, ev.network_id};
  auto it = attachments_.find(ak);
  if (it != attachments_.end() && ev.ltime <= it->second.ltime)
    return false;
  if (it == attachments_.end() && ev.type != NetworkEventType::kJoin)
    return false;
  Attachment& a = attachments_[ak];
  a.ltime = ev.ltime;
  if (ev.type == NetworkEventType::kLeave) {
    mark_leaving(a, now);
    // Tombstones, not erasure: a bulk sync from a member that has not seen the leave yet must
    // not bring the entries back.
    tombstone_owner_entries(ev.node_name, ev.network_id, now);
  } else {
    a.leaving = false;
  }
  return true;
}

bool TableStore::apply(const NodeEvent& ev, TimePoint now) {
  network_clock_.witness(ev.ltime);
  if (ev.node_name == self_)
    return false;
  auto& known = node_ltimes_[ev.node_name];
  if (ev.ltime <= known)
    return false;
  known = ev.ltime;
  if (ev.type == NodeEventType::kLeave) {
    node_left(ev.node_name, now);
  } else if (ev.type == NodeEventType::kJoin) {
    node_returned(ev.node_name);
  }
  return true;
}

NetworkEvent TableStore::join_network(const std::string& network, TimePoint /*now*/) {
  Attachment& a = attachments_[{self_, network}];
  a.ltime = network_clock_.increment();
  a.leaving = false;
  return NetworkEvent{NetworkEventType::kJoin, a.ltime, self_, network};
}

NetworkEvent TableStore::leave_network(const std::string& network, TimePoint now) {
  Attachment& a = attachments_[{self_, network}];
  a.ltime = network_clock_.increment();
  mark_leaving(a, now);
  // Our view of others' entries in a network we left is no longer maintained: drop it, so that
  // their CREATEs are accepted again if we rejoin. Our own entries become tombstones with a newer
  // Lamport time: if we rejoin before everyone saw the leave, our bulk sync purges them.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (std::get<1>(it->first) != network) {
      ++it;
      continue;
    }
    TableEntry& e = it->second;
    if (!e.deleting && !e.hidden) {
      notify(WatchEventType::kDelete, it->first, e);
    }
    if (e.owner != self_) {
      it = entries_.erase(it);
      continue;
    }
    if (!e.deleting) {
      e.deleting = true;
      e.ltime = table_clock_.increment();
      e.reap_at = now + config_.reap_entry_interval;
    }
    ++it;
  }
  return NetworkEvent{NetworkEventType::kLeave, a.ltime, self_, network};
}

std::vector<std::string> TableStore::networks() const {
  std::vector<std::string> out;
  for (const auto& [key, a] : attachments_) {
    if (key.first == self_ && !a.leaving)
      out.push_back(key.second);
  }
  return out;
}

std::vector<std::string> TableStore::peers(const std::string& network) const {
  std::vector<std::string> out;
  for (const auto& [key, a] : attachments_) {
    if (key.second == network && key.first != self_ && !a.leaving &&
        !failed_nodes_.count(key.first)) {
      out.push_back(key.first);
    }
  }
  return out;
}

NetworkPushPull TableStore::network_state() {
  NetworkPushPull pp;
  pp.ltime = network_clock_.time();
  pp.node_name = self_;
  for (const auto& [key, a] : attachments_) {
    pp.networks.push_back(NetworkEntry{key.second, a.ltime, key.first, a.leaving});
  }
  return pp;
}

void TableStore::merge_network_state(const NetworkPushPull& state, TimePoint now) {
  network_clock_.witness(state.ltime);
  for (const NetworkEntry& n : state.networks) {
    apply(NetworkEvent{n.leaving ? NetworkEventType::kLeave : NetworkEventType::kJoin, n.ltime,
                       n.node_name, n.network_id},
          now);
  }
}

void TableStore::node_failed(const std::string& node, TimePoint now) {
  if (node == self_ || failed_nodes_.count(node))
    return;
  failed_nodes_[node] = now;
  for (auto& [k, e] : entries_) {
    if (e.owner != node || e.hidden)
      continue;
    if (!e.deleting)
      notify(WatchEventType::kDelete, k, e);
    e.hidden = true;
  }
}

NodeEvent TableStore::node_event(NodeEventType type) {
  return NodeEvent{type, network_clock_.increment(), self_};
}

std::optional<uint64_t> TableStore::node_event_time(const std::string& node) const {
  auto it = node_ltimes_.find(node);
  if (it == node_ltimes_.end())
    return std::nullopt;
  return it->second;
}

bool TableStore::node_returned(const std::string& node) {
  if (!failed_nodes_.erase(node))
    return false;
  for (auto& [k, e] : entries_) {
    if (e.owner != node || !e.hidden)
      continue;
    e.hidden = false;
    if (!e.deleting)
      notify(WatchEventType::kCreate, k, e);
  }
  return true;
}

void TableStore::node_left(const std::string& node, TimePoint now) {
  failed_nodes_.erase(node);
  delete_owner_entries(node, nullptr);
  for (auto& [key, a] : attachments_) {
    if (key.first == node && !a.leaving)
      mark_leaving(a, now);
  }
}

void TableStore::reap(TimePoint now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.deleting && now >= it->second.reap_at) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(attachments_,
                [&](const auto& kv) { return kv.second.leaving && now >= kv.second.reap_at; });
  for (auto it = failed_nodes_.begin(); it != failed_nodes_.end();) {
    if (now - it->second >= config_.failed_owner_reap) {
      const std::string node = it->first;
      it = failed_nodes_.erase(it);
      delete_owner_entries(node, nullptr);  // hidden: no watch events
      std::erase_if(attachments_, [&](const auto& kv) { return kv.first.first == node; });
    } else {
      ++it;
    }
  }
}

std::vector<TableEvent> TableStore::snapshot(const std::string& network, TimePoint now) const {
  std::vector<TableEvent> out;
  for (const auto& [k, e] : entries_) {
    const auto& [table, net, key] = k;
    if (net != network || e.hidden)
      continue;
    TableEvent ev{e.deleting ? TableEventType::kDelete : TableEventType::kCreate,
                  e.ltime,
                  e.owner,
                  net,
                  table,
                  key,
                  e.value,
                  0};
    if (e.deleting) {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(e.reap_at - now);
      ev.residual_reap_time = static_cast<int32_t>(std::max<int64_t>(1, left.count()));
    }
    out.push_back(std::move(ev));
  }
  return out;
}

std::optional<TableEntry> TableStore::get(const std::string& table, const std::string& network,
                                          const std::string& key) const {
  auto it = entries_.find({table, network, key});
  if (it == entries_.end())
    return std::nullopt;
  return it->second;
}

std::map<std::string, Bytes> TableStore::entries(const std::string& table,
                                                 const std::string& network) const {
  std::map<std::string, Bytes> out;
  for (const auto& [k, e] : entries_) {
    if (std::get<0>(k) == table && std::get<1>(k) == network && !e.deleting && !e.hidden) {
      out[std::get<2>(k)] = e.value;
    }
  }
  return out;
}

}  // namespace shoal::gossip::networkdb
