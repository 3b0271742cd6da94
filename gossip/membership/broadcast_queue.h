// A transmit-limited broadcast queue, as memberlist's TransmitLimitedQueue (PROTOCOLS.md §A4).
//
// Each queued message is piggy-backed on outgoing packets until it has been sent
// `retransmit_mult × ceil(log10(n + 1))` times, n being the cluster size: enough for epidemic
// spread with high probability, yet bounded. Messages sent fewer times go first, so a fresh
// update overtakes old ones. A message with a key (a node name) replaces any queued message with
// the same key, because only the newest state about a node matters. The queue itself is bounded:
// when full, the most-transmitted message is dropped.
#pragma once

#include <functional>
#include <list>
#include <string>
#include <vector>

#include "gossip/memberlist/bytes.h"

namespace shoal::gossip {

class BroadcastQueue {
 public:
  using Finished = std::function<void()>;

  explicit BroadcastQueue(size_t max_entries) : max_entries_(max_entries) {}

  // Queues a message (a complete memberlist message with its type byte). `on_finished` runs
  // once it has been transmitted enough times or was replaced or dropped.
  void queue(std::string key, Bytes message, Finished on_finished = {});

  // Takes messages for one packet: at most `limit` bytes in total, counting `overhead` extra
  // bytes per message. `retransmit_limit` is the per-message transmit count.
  std::vector<Bytes> take(size_t overhead, size_t limit, int retransmit_limit);

  size_t size() const { return entries_.size(); }
  void clear();

  static int retransmit_limit(int retransmit_mult, size_t num_nodes);

 private:
  struct Entry {
    std::string key;
    Bytes message;
    int transmits = 0;
    uint64_t id = 0;  // insertion order: newer first among equal transmit counts
    Finished on_finished;
  };
  void finish(std::list<Entry>::iterator it);

  size_t max_entries_;
  uint64_t next_id_ = 0;
  std::list<Entry> entries_;
};

}  // namespace shoal::gossip
