// Replicated per-network tables over memberlist, in the manner of Docker's networkdb
// (PROTOCOLS.md §C4-C7), with a watch API for consumers.
//
// Node and network attachment events ride on memberlist's own gossip to every member. Table
// events are gossiped only inside their network: every gossip interval, for each network we
// belong to, queued events go to a few random members of that network, each event being sent
// a bounded number of times. Gossip alone can miss a member (loss, partitions), so every
// `sync_interval` each network is fully synchronised with one random peer: both sides send every
// entry they hold, tombstones included, and the Lamport rules of TableStore make the merge
// idempotent.
//
// As networkdb does, a node that has just joined a network does not re-gossip what it hears
// there until its first bulk sync with a peer of the network completed (or failed everywhere, or
// `initial_sync_timeout` passed): until then its view may be stale and it would spread it. A
// member announces itself with a NodeEvent JOIN when it starts and a NodeEvent LEAVE before a
// graceful leave; the LEAVE removes its entries everywhere at once, without waiting for
// memberlist's own leave. A member that returns after failing is bulk-synced at once. We chose
// periodic full sync over a digest exchange because it is what networkdb does (so the bulk-sync
// messages stay wire-compatible) and because tables here are small (one entry per endpoint); a
// digest would only pay off for large, mostly identical tables.
#pragma once

#include <map>
#include <memory>
#include <random>

#include "gossip/membership/broadcast_queue.h"
#include "gossip/membership/memberlist.h"
#include "gossip/networkdb/table_store.h"

namespace shoal::gossip::networkdb {

struct NetworkDbConfig {
  Duration gossip_interval = std::chrono::milliseconds(200);
  int gossip_peers = 3;
  int retransmit_mult = 4;
  Duration sync_interval = std::chrono::seconds(30);
  Duration reap_interval = std::chrono::seconds(5);
  size_t packet_budget = 1400 - 5;
  size_t queue_limit = 4096;
  TableStoreConfig store;
  // networkdb waits up to 30 s for the answers to its initial bulk sync.
  Duration initial_sync_timeout = std::chrono::seconds(30);
  uint64_t random_seed = 0;
};

class NetworkDb : public Delegate {
 public:
  NetworkDb(std::string self, Clock& clock, NetworkDbConfig config = {});
  ~NetworkDb() override;

  // Starts the timers and queues our NodeEvent JOIN; `list` must use this object as its delegate.
  void attach(std::shared_ptr<Memberlist> list);
  void stop();
  // Gossips a NodeEvent JOIN again (after a rejoin of the cluster).
  void announce_join();
  // Graceful leave: gossips a NodeEvent LEAVE, then leaves memberlist; `done` runs once both went
  // out (each waits at most `timeout`).
  void leave(Duration timeout, std::function<void()> done);

  Status join_network(const std::string& network);
  Status leave_network(const std::string& network);
  Status create_entry(const std::string& table, const std::string& network, const std::string& key,
                      Bytes value);
  Status update_entry(const std::string& table, const std::string& network, const std::string& key,
                      Bytes value);
  Status delete_entry(const std::string& table, const std::string& network, const std::string& key);

  TableStore& store() { return store_; }
  // False while a network we joined waits for its first bulk sync (received events of that
  // network are applied but not re-gossiped).
  bool in_sync(const std::string& network) const;
  // Table events queued for gossip in a network.
  size_t queued_events(const std::string& network) const;
  TableStore::WatchId watch(std::string table, TableStore::Watcher w) {
    return store_.watch(std::move(table), std::move(w));
  }

  // Delegate
  void notify_user_message(ByteView payload) override;
  Bytes local_state(bool join) override;
  void merge_remote_state(ByteView state, bool join) override;
  void on_join(const Member& m) override;
  void on_leave(const Member& m) override;

 private:
  void handle(const GossipMessage& msg, bool from_bulk_sync, int depth);
  void queue_table_event(const TableEvent& ev);
  void gossip_tick();
  void sync_tick();
  void reap_tick();
  void bulk_sync(const std::string& peer, const std::string& network, bool unsolicited,
                 std::function<void(Status)> done = {});
  void every(Duration interval, void (NetworkDb::*tick)());
  std::vector<std::string> live_peers(const std::string& network);

  std::string self_;
  Clock& clock_;
  NetworkDbConfig config_;
  TableStore store_;
  std::shared_ptr<Memberlist> list_;
  // A network we are in: its gossip queue and whether its initial bulk sync is done.
  struct LocalNetwork {
    explicit LocalNetwork(size_t limit) : queue(limit) {}
    BroadcastQueue queue;
    bool in_sync = false;
    TimePoint sync_deadline{};
    int syncs_pending = 0;  // initial bulk syncs not yet failed
    uint64_t generation = 0;
  };
  bool may_rebroadcast(const std::string& network);
  void mark_in_sync(const std::string& network);

  std::map<std::string, LocalNetwork> networks_;
  uint64_t next_generation_ = 1;
  std::mt19937_64 rng_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace shoal::gossip::networkdb
