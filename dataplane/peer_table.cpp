#include "dataplane/peer_table.h"

namespace shoal::dataplane {

std::vector<PeerAction> PeerTable::add(const Peer& peer) {
  Entry& entry = peers_[peer];
  if (entry.refs++ > 0) {
    return {};
  }
  entry.added = next_order_++;
  return {SetNeighbour{peer.ip, peer.mac}, SetFdb{peer.mac, peer.vtep}};
}

std::vector<PeerAction> PeerTable::remove(const Peer& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    return {};
  }
  if (--it->second.refs > 0) {
    return {};
  }
  const bool held_ip = newest_with_ip(peer.ip) == &it->first;
  const bool held_mac = newest_with_mac(peer.mac) == &it->first;
  peers_.erase(it);

  std::vector<PeerAction> actions;
  if (held_mac) {
    // The kernel keeps one entry per (mac, dst): delete ours before any fallback is written.
    actions.emplace_back(DeleteFdb{peer.mac, peer.vtep});
    if (const Peer* next = newest_with_mac(peer.mac)) {
      actions.emplace_back(SetFdb{next->mac, next->vtep});
    }
  }
  if (held_ip) {
    if (const Peer* next = newest_with_ip(peer.ip)) {
      actions.emplace_back(SetNeighbour{next->ip, next->mac});
    } else {
      actions.emplace_back(DeleteNeighbour{peer.ip});
    }
  }
  return actions;
}

size_t PeerTable::references(const Peer& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.refs;
}

std::vector<Peer> PeerTable::peers() const {
  std::vector<Peer> result;
  for (const auto& [peer, entry] : peers_) {
    result.push_back(peer);
  }
  return result;
}

const Peer* PeerTable::newest_with_ip(Ipv4 ip) const {
  const Peer* best = nullptr;
  uint64_t best_order = 0;
  for (const auto& [peer, entry] : peers_) {
    if (peer.ip == ip && (best == nullptr || entry.added > best_order)) {
      best = &peer;
      best_order = entry.added;
    }
  }
  return best;
}

const Peer* PeerTable::newest_with_mac(const Mac& mac) const {
  const Peer* best = nullptr;
  uint64_t best_order = 0;
  for (const auto& [peer, entry] : peers_) {
    if (peer.mac == mac && (best == nullptr || entry.added > best_order)) {
      best = &peer;
      best_order = entry.added;
    }
  }
  return best;
}

}  // namespace shoal::dataplane
