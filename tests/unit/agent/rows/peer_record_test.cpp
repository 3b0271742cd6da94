// Overlay peer table rows: Docker's PeerRecord bytes, and what a receiver refuses.
#include <gtest/gtest.h>

#include "control/agent/rows/peer_record.h"
#include "endpoint_record.pb.h"

namespace shoal::agent {
namespace {

gossip::Bytes raw(const std::string& ip, const std::string& mac, const std::string& vtep) {
  wire::PeerRecord message;
  message.set_endpoint_ip(ip);
  message.set_endpoint_mac(mac);
  message.set_tunnel_endpoint_ip(vtep);
  auto bytes = message.SerializeAsString();
  return {bytes.begin(), bytes.end()};
}

TEST(PeerRecord, RoundTripsAndMatchesDockersFieldLayout) {
  PeerRecord record{.ip = *Ipv4Prefix::parse("10.0.1.5/24"),
                    .mac = *Mac::parse("02:42:0a:00:01:05"),
                    .vtep = *Ipv4::parse("192.168.1.10")};
  auto bytes = encode_peer(record);
  // PROTOCOLS.md C8: 0a 0b "10.0.1.5/24" 12 11 "02:42:0a:00:01:05" 1a 0c "192.168.1.10".
  ASSERT_EQ(bytes.size(), 2u + 11u + 2u + 17u + 2u + 12u);
  EXPECT_EQ(bytes[0], 0x0a);
  EXPECT_EQ(bytes[13], 0x12);
  EXPECT_EQ(bytes[32], 0x1a);
  auto back = decode_peer(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->ip.str(), "10.0.1.5/24");
  EXPECT_EQ(back->mac.str(), "02:42:0a:00:01:05");
  EXPECT_EQ(back->vtep.str(), "192.168.1.10");
}

TEST(PeerRecord, RefusesRowsThatDoNotParse) {
  EXPECT_FALSE(decode_peer(gossip::Bytes{0xff, 0xff, 0xff}).ok());
  EXPECT_FALSE(decode_peer(raw("10.0.1.5", "02:42:0a:00:01:05", "192.168.1.10")).ok());
  EXPECT_FALSE(decode_peer(raw("10.0.1.5/24", "not-a-mac", "192.168.1.10")).ok());
  EXPECT_FALSE(decode_peer(raw("10.0.1.5/24", "02:42:0a:00:01:05", "")).ok());
  auto huge = decode_peer(gossip::Bytes(4096, 0));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace shoal::agent
