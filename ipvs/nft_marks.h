// Reads back the marks the IPVS load balancer keeps in its nftables maps, from the JSON that
// `nft -j list table ip shoal-ipvs` prints: what a restarted agent adopts (see ipvs_lb.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::ipvs {

// One map element: what a new packet is addressed to, and the mark of its IPVS service.
struct MarkedKey {
  uint32_t vip = 0;   // host order; 0 for a published port (map "published")
  uint16_t port = 0;  // 0 for "every port" (map "vip_any")
  uint8_t protocol = 0;
  uint32_t mark = 0;

  friend bool operator==(const MarkedKey&, const MarkedKey&) = default;
};

// The elements of the maps vip_ports, vip_any and published; other objects are ignored.
Result<std::vector<MarkedKey>> parse_marks(const std::string& json);

}  // namespace shoal::ipvs
