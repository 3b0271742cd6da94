// Crafted Ethernet/IPv4/TCP-or-UDP frames for datapath tests, and the reading back of a frame a
// program returned, with both checksums verified from scratch.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/net_types.h"

namespace shoal::testing {

struct Frame {
  Ipv4 src;
  uint16_t sport = 0;
  Ipv4 dst;
  uint16_t dport = 0;
  uint8_t proto = 6;         // IPPROTO_TCP or IPPROTO_UDP
  bool syn = true;           // TCP only: SYN, else ACK
  bool checksums_ok = true;  // when read back: IPv4 and L4 checksums verify
};

std::vector<uint8_t> build_frame(const Frame& frame);
std::optional<Frame> read_frame(const std::vector<uint8_t>& bytes);

// What repro A5 of the security review sent: a VXLAN datagram (flags 0x08, `vni`) carrying a UDP
// frame from `claimed` to `task`:`port`, with the MACs Shoal derives from the two addresses.
std::vector<uint8_t> forged_vxlan_datagram(uint32_t vni, Ipv4 claimed, Ipv4 task, uint16_t port);

}  // namespace shoal::testing
