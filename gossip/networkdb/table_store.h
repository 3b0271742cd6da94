// The replicated tables' state and merge rules (PROTOCOLS.md §C4, §C7), without any I/O.
//
// Entries are keyed by (table, network, key) and carry a value, an owner node and the owner's
// Lamport time. Only the owner writes an entry; everyone else accepts an event for it when its
// Lamport time is strictly newer than what they hold, so replicas converge to the owner's last
// write whatever the delivery order. A delete leaves a tombstone (the newer Lamport time wins
// against a late create) that is reaped after a timeout. Events are only accepted for networks
// this node has joined and from owners attached to that network. Entries of an owner that fails
// are hidden at once and deleted after `failed_owner_reap` unless the owner comes back; entries of
// an owner that leaves the cluster are deleted at once. An owner that leaves a network turns its
// entries there into tombstones, and the leaving attachment itself is kept (so that a late JOIN
// with an older Lamport time cannot revive it) until `reap_network_interval` has passed, as
// networkdb does. When we leave a network, our own entries become tombstones (a newer Lamport
// time, so that a rejoin purges stale copies elsewhere) and everyone else's are dropped. Watchers
// see the visible state change: create, update, delete.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "gossip/membership/types.h"
#include "gossip/networkdb/proto.h"

namespace shoal::gossip::networkdb {

// Serf-style Lamport clock: increment for local events, witness remote times.
class LamportClock {
 public:
  uint64_t time() const { return t_; }
  uint64_t increment() { return ++t_; }
  void witness(uint64_t v) {
    if (v >= t_)
      t_ = v + 1;
  }

 private:
  uint64_t t_ = 1;
};

struct TableEntry {
  std::string owner;
  uint64_t ltime = 0;
  Bytes value;
  bool deleting = false;  // tombstone
  bool hidden = false;    // owner failed; kept in case it returns
  TimePoint reap_at{};
};

enum class WatchEventType { kCreate, kUpdate, kDelete };

struct WatchEvent {
  WatchEventType type;
  std::string table, network, key;
  Bytes value;
  std::string owner;
};

struct TableStoreConfig {
  Duration reap_entry_interval = std::chrono::minutes(30);  // tombstone lifetime
  Duration failed_owner_reap = std::chrono::hours(24);      // hidden entries of failed owners
  // Leaving network attachments; networkdb uses reapEntryInterval + 25 s, so that a leave
  // outlives the tombstones it made.
  Duration reap_network_interval = std::chrono::minutes(30) + std::chrono::seconds(25);
  size_t max_entries = 1 << 20;
};

class TableStore {
 public:
  using Watcher = std::function<void(const WatchEvent&)>;
  using WatchId = uint64_t;

  TableStore(std::string self, TableStoreConfig config = {})
      : self_(std::move(self)), config_(config) {}

  // ---- local writes: return the event to gossip ----
  Result<TableEvent> create(const std::string& table, const std::string& network,
                            const std::string& key, Bytes value, TimePoint now);
  Result<TableEvent> update(const std::string& table, const std::string& network,
                            const std::string& key, Bytes value, TimePoint now);
  Result<TableEvent> remove(const std::string& table, const std::string& network,
                            const std::string& key, TimePoint now);

  // ---- remote events: true when accepted (and worth re-gossiping) ----
  bool apply(const TableEvent& e, TimePoint now);
  bool apply(const NetworkEvent& e, TimePoint now);
  bool apply(const NodeEvent& e, TimePoint now);
  // An event of this node's own that a peer still holds, written before this node restarted
  // (its node name outlives the process). What the node holds now must win at every peer: its
  // live entry again, or a delete for one it no longer has, both later than the peer's. Returns
  // that event to gossip, or nothing when the peer's copy is not newer than ours.
  std::optional<TableEvent> reclaim_own(const TableEvent& e, TimePoint now);

  // ---- network attachments ----
  NetworkEvent join_network(const std::string& network, TimePoint now);
  NetworkEvent leave_network(const std::string& network, TimePoint now);
  bool in_network(const std::string& network) const;
  std::vector<std::string> networks() const;                         // ours, not leaving
  std::vector<std::string> peers(const std::string& network) const;  // attached, not us
  NetworkPushPull network_state();  // all (node, network) pairs we know
  void merge_network_state(const NetworkPushPull& state, TimePoint now);

  // ---- membership ----
  // A NodeEvent about ourselves, with a fresh network-clock time.
  NodeEvent node_event(NodeEventType type);
  // The Lamport time of the newest NodeEvent accepted from `node`.
  std::optional<uint64_t> node_event_time(const std::string& node) const;
  void node_failed(const std::string& node, TimePoint now);
  // True when `node` had failed (its hidden entries are visible again).
  bool node_returned(const std::string& node);
  void node_left(const std::string& node, TimePoint now);

  // Drops expired tombstones, leaving attachments past their reap time, and the entries of
  // owners failed for too long.
  void reap(TimePoint now);

  // Every entry of a network, tombstones included, as events for a bulk sync.
  std::vector<TableEvent> snapshot(const std::string& network, TimePoint now) const;

  std::optional<TableEntry> get(const std::string& table, const std::string& network,
                                const std::string& key) const;
  // Visible (live, not hidden) entries of a table in a network: key -> value.
  std::map<std::string, Bytes> entries(const std::string& table, const std::string& network) const;

  // Calls `watcher` for every visible change of `table` ("" for all tables).
  WatchId watch(std::string table, Watcher watcher);
  void unwatch(WatchId id) { watchers_.erase(id); }

  LamportClock& table_clock() { return table_clock_; }
  LamportClock& network_clock() { return network_clock_; }
  const std::string& self() const { return self_; }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // table, network, key
  struct Attachment {
    uint64_t ltime = 0;
    bool leaving = false;
    TimePoint reap_at{};  // when leaving
  };
  using AttachmentKey = std::pair<std::string, std::string>;  // node, network

  bool attached(const std::string& node, const std::string& network) const;
  void notify(WatchEventType type, const Key& k, const TableEntry& e);
  void delete_owner_entries(const std::string& owner, const std::string* network);
  void tombstone_owner_entries(const std::string& owner, const std::string& network, TimePoint now);
  void mark_leaving(Attachment& a, TimePoint now) {
    a.leaving = true;
    a.reap_at = now + config_.reap_network_interval;
  }
  Result<TableEvent> local_write(TableEventType type, const std::string& table,
                                 const std::string& network, const std::string& key, Bytes value,
                                 TimePoint now);

  std::string self_;
  TableStoreConfig config_;
  LamportClock table_clock_, network_clock_;
  std::map<Key, TableEntry> entries_;
  std::map<AttachmentKey, Attachment> attachments_;
  std::map<std::string, TimePoint> failed_nodes_;
  std::map<std::string, uint64_t> node_ltimes_;
  std::map<WatchId, std::pair<std::string, Watcher>> watchers_;
  WatchId next_watch_ = 1;
};

}  // namespace shoal::gossip::networkdb
