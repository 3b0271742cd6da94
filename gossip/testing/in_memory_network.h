// An in-process network for membership tests: every member registers a handler at an address;
// packets and streams are delivered through the FakeClock after a fixed latency, so delivery
// never re-enters the sender. Tests can drop packets at random, cut links or isolate members.
#pragma once

#include <map>
#include <random>
#include <set>

#include "gossip/membership/interfaces.h"
#include "gossip/testing/fake_clock.h"

namespace shoal::gossip::testing {

class InMemoryNetwork {
 public:
  explicit InMemoryNetwork(FakeClock& clock, uint64_t seed = 1) : clock_(clock), rng_(seed) {}

  // A Transport bound to one address; it must outlive its use by the Memberlist.
  std::unique_ptr<Transport> attach(NodeAddress addr, TransportHandler* handler);
  void detach(NodeAddress addr) { handlers_.erase(addr); }

  void set_latency(Duration d) { latency_ = d; }
  void set_packet_loss(double p) { loss_ = p; }
  // Blocks all traffic (packets and streams) to and from `addr` while isolated.
  void isolate(NodeAddress addr, bool isolated);

  size_t packets_sent() const { return packets_sent_; }
  size_t packets_dropped() const { return packets_dropped_; }

 private:
  class Endpoint;
  bool blocked(const NodeAddress& a, const NodeAddress& b) const {
    return isolated_.count(a) || isolated_.count(b);
  }

  FakeClock& clock_;
  std::mt19937_64 rng_;
  Duration latency_ = std::chrono::milliseconds(1);
  double loss_ = 0;
  std::map<NodeAddress, TransportHandler*> handlers_;
  std::set<NodeAddress> isolated_;
  size_t packets_sent_ = 0, packets_dropped_ = 0;
};

}  // namespace shoal::gossip::testing
