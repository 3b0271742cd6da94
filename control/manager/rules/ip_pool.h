// The addresses of one network's subnet that can be handed to tasks and VIPs.
//
// Never the network address, the broadcast address or the gateway. Allocation is serial, as
// swarmkit's IPAM does for overlay networks: the cursor moves past the last address given, so a
// released address is reused only after the pool wraps around. That keeps a just-freed address
// from going at once to a new task while peers may still route to the old one.
#pragma once

#include <cstdint>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::manager {

class IpPool {
 public:
  IpPool(Ipv4Prefix subnet, Ipv4 gateway);

  Result<Ipv4> allocate();
  // Claims a given address (rebuilding from the store); refuses one outside or already taken.
  Status claim(Ipv4 ip);
  void release(Ipv4 ip);

  bool in_use(Ipv4 ip) const;
  uint32_t free_count() const { return free_; }
  const Ipv4Prefix& subnet() const { return subnet_; }
  Ipv4 gateway() const { return gateway_; }

 private:
  uint32_t offset(Ipv4 ip) const { return ip.host_order() - subnet_.network().host_order(); }

  Ipv4Prefix subnet_;
  Ipv4 gateway_;
  std::vector<bool> used_;  // by offset from the network address; reserved ones start used
  uint32_t cursor_ = 0;
  uint32_t free_ = 0;
};

}  // namespace shoal::manager
