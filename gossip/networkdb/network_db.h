// Replicated per-network tables over memberlist, in the manner of Docker's networkdb
// (PROTOCOLS.md §C4-C7), with a watch API for consumers.
//
// Node and network attachment events ride on memberlist's own gossip to every member. Table
// events are gossiped only inside their network: every gossip interval, for each network we
// belong to, queued events go to a few random members of that network, each event being sent
// a bounded number of times. Gossip alone can miss a member (loss, partitions), so every
// `sync_interval` each network is fully synchronised with one random peer: both sides send every
// entry they hold, tombstones included, and the Lamport rules of TableStore make the merge
// idempotent. We chose periodic full sync over a digest exchange because it is what networkdb
// does (so the bulk-sync messages stay wire-compatible) and because tables here are small (one
// entry per endpoint); a digest would only pay off for large, mostly identical tables.
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
  uint64_t random_seed = 0;
};

class NetworkDb : public Delegate {
 public:
  NetworkDb(std::string self, Clock& clock, NetworkDbConfig config = {});
  ~NetworkDb() override;

  // Starts the timers; `list` must use this object as its delegate.
  void attach(std::shared_ptr<Memberlist> list);
  void stop();

  Status join_network(const std::string& network);
  Status leave_network(const std::string& network);
  Status create_entry(const std::string& table, const std::string& network, const std::string& key,
                      Bytes value);
  Status update_entry(const std::string& table, const std::string& network, const std::string& key,
                      Bytes value);
  Status delete_entry(const std::string& table, const std::string& network, const std::string& key);

  TableStore& store() { return store_; }
  TableStore::WatchId watch(std::string table, TableStore::Watcher w) {
    return store_.watch(std::move(table), std::move(w));
  }

  // Delegate
  void notify_user_message(ByteView payload) override;
  Bytes local_state(bool join) override;
  void merge_remote_state(ByteView state, bool join) override;
  void on_join(const Member& m) override { store_.node_returned(m.name); }
  void on_leave(const Member& m) override;

 private:
  void handle(const GossipMessage& msg, bool from_bulk_sync, int depth);
  void queue_table_event(const TableEvent& ev);
  void gossip_tick();
  void sync_tick();
  void reap_tick();
  void bulk_sync(const std::string& peer, const std::string& network, bool unsolicited);
  void every(Duration interval, void (NetworkDb::*tick)());
  std::vector<std::string> live_peers(const std::string& network);

  std::string self_;
  Clock& clock_;
  NetworkDbConfig config_;
  TableStore store_;
  std::shared_ptr<Memberlist> list_;
  std::map<std::string, BroadcastQueue> network_queues_;
  std::mt19937_64 rng_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace shoal::gossip::networkdb
