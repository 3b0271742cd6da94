// Reference-counted bookkeeping of a network's remote peers, and the kernel entries it implies.
//
// Several sources may announce the same peer (the gossip table and an assignment, or a replayed
// event), so each (ip, mac, vtep) is counted and its entries go only when the last reference goes.
// An IP has one neighbour entry and a MAC one forwarding entry, so when two live peers claim the
// same IP or MAC (an endpoint moving between nodes), the most recently added one is programmed, and
// removing it falls back to the other instead of leaving a hole.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <variant>
#include <vector>

#include "common/net_types.h"

namespace shoal::dataplane {

struct SetNeighbour {
  Ipv4 ip;
  Mac mac;
  friend bool operator==(const SetNeighbour&, const SetNeighbour&) = default;
};
struct DeleteNeighbour {
  Ipv4 ip;
  friend bool operator==(const DeleteNeighbour&, const DeleteNeighbour&) = default;
};
struct SetFdb {
  Mac mac;
  Ipv4 vtep;
  friend bool operator==(const SetFdb&, const SetFdb&) = default;
};
struct DeleteFdb {
  Mac mac;
  Ipv4 vtep;
  friend bool operator==(const DeleteFdb&, const DeleteFdb&) = default;
};
using PeerAction = std::variant<SetNeighbour, DeleteNeighbour, SetFdb, DeleteFdb>;

struct Peer {
  Ipv4 ip;
  Mac mac;
  Ipv4 vtep;
  friend auto operator<=>(const Peer&, const Peer&) = default;
};

class PeerTable {
 public:
  // The kernel changes to apply, in order. Empty when nothing changes.
  std::vector<PeerAction> add(const Peer& peer);
  std::vector<PeerAction> remove(const Peer& peer);

  size_t references(const Peer& peer) const;
  size_t size() const { return peers_.size(); }
  std::vector<Peer> peers() const;

 private:
  struct Entry {
    size_t refs = 0;
    uint64_t added = 0;  // order of first addition; the newest claim to an IP or MAC wins
  };
  const Peer* newest_with_ip(Ipv4 ip) const;
  const Peer* newest_with_mac(const Mac& mac) const;

  std::map<Peer, Entry> peers_;
  uint64_t next_order_ = 0;
};

}  // namespace shoal::dataplane
