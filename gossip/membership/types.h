// Value types of the membership layer: addresses, member records and the configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/net_types.h"
#include "common/result.h"
#include "gossip/memberlist/bytes.h"
#include "gossip/memberlist/framing.h"

namespace shoal::gossip {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;
using namespace std::chrono_literals;

struct NodeAddress {
  Ipv4 ip;
  uint16_t port = 0;

  static Result<NodeAddress> parse(std::string_view text);  // "a.b.c.d:port"
  // From memberlist's wire form: 4 bytes, or 16 bytes of a v4-mapped IPv6 address.
  static Result<NodeAddress> from_wire(ByteView addr, uint16_t port);
  Bytes ip_bytes() const;
  std::string str() const;
  friend auto operator<=>(const NodeAddress&, const NodeAddress&) = default;
};

enum class MemberState : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };
const char* member_state_name(MemberState state);

// memberlist's version vector: {pmin, pmax, pcur, dmin, dmax, dcur}.
struct Versions {
  uint8_t pmin = 1, pmax = 5, pcur = 2, dmin = 0, dmax = 0, dcur = 0;
  Bytes wire() const { return {pmin, pmax, pcur, dmin, dmax, dcur}; }
  static Versions from_wire(ByteView vsn);  // missing bytes read as 0
};

struct Member {
  std::string name;
  NodeAddress addr;
  Bytes meta;
  uint32_t incarnation = 0;
  MemberState state = MemberState::kDead;
  Versions versions;
  TimePoint state_change{};
};

// Every knob of the protocol. lan() gives memberlist's DefaultLANConfig (PROTOCOLS.md §A8).
struct Config {
  std::string name;
  NodeAddress advertise;  // what peers should use to reach us (also the default peer port)

  Duration probe_interval = 1s;
  Duration probe_timeout = 500ms;
  int indirect_checks = 3;
  int suspicion_mult = 4;
  int suspicion_max_timeout_mult = 6;
  int awareness_max_multiplier = 8;
  bool disable_tcp_pings = false;
  int gossip_nodes = 3;
  Duration gossip_interval = 200ms;
  Duration gossip_to_the_dead_time = 30s;
  int retransmit_mult = 4;
  Duration push_pull_interval = 30s;
  Duration tcp_timeout = 10s;
  size_t udp_buffer_size = 1400;
  // Not memberlist itself but what Serf (30 s) and networkdb (1 s) add on top: periodically
  // push/pull with a random failed member, so that a healed partition merges again. 0 = off.
  Duration reconnect_interval = Duration::zero();
  size_t max_members = 1 << 16;    // bound on the member table (memberlist has none)
  size_t max_pending_acks = 4096;  // bound on outstanding ack handlers
  size_t broadcast_queue_limit = 4096;
  Versions versions;  // delegate versions default to 0/0/0 like memberlist
  size_t max_meta = 512;

  WireSecurity security;     // keyring pointer must outlive the Memberlist
  uint64_t random_seed = 0;  // 0: seed from std::random_device

  static Config lan(std::string name, NodeAddress advertise);
  // Faster timers for tests on loopback (memberlist's DefaultLocalConfig is similar).
  static Config local(std::string name, NodeAddress advertise);
};

}  // namespace shoal::gossip
