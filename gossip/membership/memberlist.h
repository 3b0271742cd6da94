// SWIM membership with Lifeguard, wire-compatible with HashiCorp memberlist (PROTOCOLS.md §A8-A9).
//
// Every probe interval the node pings the next member of a shuffled round-robin list. Without an
// ack within the probe timeout it asks a few other members to ping the target for it (indirect
// probes, which answer with a nack when they too hear nothing) and tries a TCP ping. Without any
// ack by the end of the (health-scaled) interval, the target becomes *suspect*: the suspicion is
// gossiped, and unless the target refutes it by gossiping an alive message with a higher
// incarnation number, it is declared *dead* when the Lifeguard suspicion timer runs out. A node
// that leaves gossips its own death (dead with From == itself), which peers record as *left*.
//
// State changes spread by piggy-backing on pings and acks and by a periodic gossip round to a few
// random members; a periodic TCP push/pull of the whole member table repairs anything gossip
// missed. The class does no I/O itself: it is driven by a Clock and a Transport, so tests can run
// whole clusters in one thread with simulated time. All methods must be called on the thread
// that runs the Clock's callbacks.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "gossip/memberlist/messages.h"
#include "gossip/memberlist/stream.h"
#include "gossip/membership/broadcast_queue.h"
#include "gossip/membership/interfaces.h"
#include "gossip/membership/suspicion.h"

namespace shoal::gossip {

// Counters of what arrived and what was refused, for operators and tests.
struct MemberlistStats {
  uint64_t packets_received = 0;
  uint64_t packets_undecryptable = 0;  // no installed key opened it (or label mismatch)
  uint64_t packets_malformed = 0;      // bad CRC, framing or message
  uint64_t streams_received = 0;
  uint64_t streams_rejected = 0;  // undecryptable or malformed
};

class Memberlist : public TransportHandler, public std::enable_shared_from_this<Memberlist> {
 public:
  using JoinDone = std::function<void(size_t joined, std::vector<Error> errors)>;

  // `meta` is advertised in alive messages (at most config.max_meta bytes).
  static Result<std::shared_ptr<Memberlist>> create(Config config, Bytes meta, Clock& clock,
                                                    Transport& transport, Delegate* delegate);
  ~Memberlist() override;
  Memberlist(const Memberlist&) = delete;
  Memberlist& operator=(const Memberlist&) = delete;

  // Announces the local node and starts the probe, gossip and push/pull timers.
  void start();
  // Push/pull with each seed (join = true); `done` reports how many answered.
  void join(std::vector<NodeAddress> seeds, JoinDone done);
  // Gossips our own departure and calls `done` once it went out (or after `timeout`).
  void leave(Duration timeout, std::function<void()> done);
  // Stops all timers; incoming traffic is ignored afterwards.
  void shutdown();

  Status update_meta(Bytes meta);
  // Queues a best-effort user message (memberlist type 8) for gossip to every member.
  void queue_user_broadcast(Bytes payload, BroadcastQueue::Finished on_sent = {});

  // A user message (type 8) to one member: best effort over UDP, or reliable over a stream.
  Status send_best_effort(const std::string& node, Bytes payload);
  void send_reliable(const std::string& node, Bytes payload, std::function<void(Status)> done);

  std::vector<Member> members() const;
  std::optional<Member> member(const std::string& name) const;
  size_t num_alive() const;  // including ourselves
  int health_score() const { return awareness_.score(); }
  const MemberlistStats& stats() const { return stats_; }
  const Config& config() const { return config_; }
  bool has_left() const { return leaving_; }

  // TransportHandler
  void on_packet(const NodeAddress& from, ByteView packet) override;
  std::optional<Bytes> on_stream(const NodeAddress& from, ByteView frame) override;

 private:
  Memberlist(Config config, Bytes meta, Clock& clock, Transport& transport, Delegate* delegate);

  struct AckHandler {
    std::function<void()> on_ack;
    std::function<void()> on_nack;
    Clock::TimerId timer = 0;
  };
  struct ProbeState;
  struct SuspicionEntry {
    Suspicion suspicion;
    Clock::TimerId timer = 0;
    TimePoint state_change;
  };

  // Membership rules (memberlist_state.cpp).
  void handle_alive(const Alive& a, bool bootstrap);
  void handle_suspect(const Suspect& s);
  void handle_dead(const Dead& d);
  void refute(Member& self, uint32_t accused_incarnation);
  Status verify_protocol(const std::vector<PushNodeState>& remote) const;
  void merge_state(const std::vector<PushNodeState>& remote);
  void arm_suspicion_timer(const std::string& name);
  void clear_suspicion(const std::string& name);
  Alive self_alive() const;
  void insert_probe_position(const std::string& name);
  void reap_and_shuffle();

  // Failure detection (memberlist_probe.cpp).
  void probe_tick();
  void probe_node(const Member& target);
  void finish_probe(const std::shared_ptr<ProbeState>& probe, bool success);
  void start_indirect_probes(const std::shared_ptr<ProbeState>& probe);
  void handle_ping(const NodeAddress& from, const Ping& ping);
  void handle_indirect_ping(const NodeAddress& from, const IndirectPing& req);
  void handle_ack(const Ack& ack);
  void handle_nack(const Nack& nack);
  uint32_t set_ack_handler(Duration timeout, AckHandler handler);
  void remove_ack_handler(uint32_t seq);

  // Packets, gossip and push/pull (memberlist_io.cpp).
  void dispatch(const NodeAddress& from, ByteView message);
  void send_message(const NodeAddress& to, const Bytes& message, const Member* dest);
  void send_raw(const NodeAddress& to, const Bytes& payload, const Member* dest);
  std::vector<Bytes> take_broadcasts(size_t overhead, size_t limit);
  void broadcast(const std::string& key, Bytes message, BroadcastQueue::Finished done = {});
  void gossip_tick();
  void push_pull_tick();
  void reconnect_tick();
  void push_pull_with(const NodeAddress& addr, bool join, std::function<void(Status)> done);
  Bytes local_push_pull(bool join);
  Status merge_remote(const PushPull& remote);
  std::vector<const Member*> random_members(size_t k,
                                            const std::function<bool(const Member&)>& keep);

  // Helpers.
  Clock::TimerId after(Duration delay, std::function<void()> fn);
  void every(Duration interval, void (Memberlist::*tick)(), Duration first_delay);
  uint32_t next_seq() { return ++seq_no_; }
  Member* find(const std::string& name);
  void notify_join(const Member& m);
  void notify_leave(const Member& m);
  void notify_update(const Member& m);

  Config config_;
  Bytes meta_;
  Clock& clock_;
  Transport& transport_;
  Delegate* delegate_;
  std::shared_ptr<bool> alive_token_ = std::make_shared<bool>(true);
  std::mt19937_64 rng_;

  std::unordered_map<std::string, Member> nodes_;
  std::vector<std::string> probe_order_;
  size_t probe_index_ = 0;
  std::map<std::string, SuspicionEntry> suspicions_;
  std::unordered_map<uint32_t, AckHandler> ack_handlers_;
  BroadcastQueue broadcasts_;
  Awareness awareness_;
  uint32_t seq_no_ = 0;
  uint32_t incarnation_ = 0;
  bool probe_in_flight_ = false;
  bool leaving_ = false;
  bool running_ = false;
  MemberlistStats stats_;
};

}  // namespace shoal::gossip
