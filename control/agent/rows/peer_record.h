// Rows of the overlay peer table ("overlay_peer_table", Docker's name and PeerRecord format):
// key = endpoint id, network = the overlay's id, value = where that endpoint lives.
#pragma once

#include "common/net_types.h"
#include "common/result.h"
#include "gossip/memberlist/bytes.h"

namespace shoal::agent {

inline constexpr const char* kPeerTable = "overlay_peer_table";

struct PeerRecord {
  Ipv4Prefix ip;  // the endpoint's address with its subnet's length
  Mac mac;
  Ipv4 vtep;
};

gossip::Bytes encode_peer(const PeerRecord& record);
// Bounded; every field must parse (a row any node can publish is checked like input).
Result<PeerRecord> decode_peer(const gossip::Bytes& value);

}  // namespace shoal::agent
