#include "control/agent/rows/peer_record.h"

#include "endpoint_record.pb.h"

namespace shoal::agent {

namespace {
constexpr size_t kMaxPeerRecordBytes = 1024;
}  // namespace

gossip::Bytes encode_peer(const PeerRecord& record) {
  wire::PeerRecord message;
  message.set_endpoint_ip(record.ip.str());
  message.set_endpoint_mac(record.mac.str());
  message.set_tunnel_endpoint_ip(record.vtep.str());
  auto bytes = message.SerializeAsString();
  return {bytes.begin(), bytes.end()};
}

Result<PeerRecord> decode_peer(const gossip::Bytes& value) {
  if (value.size() > kMaxPeerRecordBytes) {
    return invalid_argument("peer record",
                            "larger than " + std::to_string(kMaxPeerRecordBytes) + " bytes");
  }
  wire::PeerRecord message;
  if (!message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return invalid_argument("peer record", "not a PeerRecord protobuf");
  }
  PeerRecord record;
  SHOAL_ASSIGN_OR_RETURN(record.ip, Ipv4Prefix::parse(message.endpoint_ip()));
  SHOAL_ASSIGN_OR_RETURN(record.mac, Mac::parse(message.endpoint_mac()));
  SHOAL_ASSIGN_OR_RETURN(record.vtep, Ipv4::parse(message.tunnel_endpoint_ip()));
  return record;
}

}  // namespace shoal::agent
