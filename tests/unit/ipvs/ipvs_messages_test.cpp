// The IPVS generic-netlink encoding, decoded back with libnl's parser as the kernel would.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <sys/socket.h>

#include <cstring>

#include "ipvs/ipvs_messages.h"

namespace shoal::ipvs {
namespace {

constexpr int kFamily = 42;

struct Decoded {
  int family = 0;
  uint8_t cmd = 0;
  uint16_t flags = 0;
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  nlattr* svc[IPVS_SVC_ATTR_MAX + 1] = {};
  nlattr* dest[IPVS_DEST_ATTR_MAX + 1] = {};
};

// Decodes msg (which must outlive the result: the attributes point into it).
Decoded decode(nl_msg* msg) {
  Decoded d;
  nlmsghdr* hdr = nlmsg_hdr(msg);
  d.family = hdr->nlmsg_type;
  d.flags = hdr->nlmsg_flags;
  d.cmd = static_cast<genlmsghdr*>(nlmsg_data(hdr))->cmd;
  EXPECT_EQ(genlmsg_parse(hdr, 0, d.top, IPVS_CMD_ATTR_MAX, nullptr), 0);
  if (d.top[IPVS_CMD_ATTR_SERVICE] != nullptr) {
    EXPECT_EQ(nla_parse_nested(d.svc, IPVS_SVC_ATTR_MAX, d.top[IPVS_CMD_ATTR_SERVICE], nullptr), 0);
  }
  if (d.top[IPVS_CMD_ATTR_DEST] != nullptr) {
    EXPECT_EQ(nla_parse_nested(d.dest, IPVS_DEST_ATTR_MAX, d.top[IPVS_CMD_ATTR_DEST], nullptr), 0);
  }
  return d;
}

TEST(IpvsMessages, ANewServiceIsAnIpv4FwmarkServiceWithItsScheduler) {
  auto msg = encode(service_request(Command::kNewService, 0x5e100007, "wlc"), kFamily);
  ASSERT_TRUE(msg.ok()) << msg.error().message();
  Decoded d = decode(msg->get());
  EXPECT_EQ(d.family, kFamily);
  EXPECT_EQ(d.cmd, IPVS_CMD_NEW_SERVICE);
  EXPECT_TRUE(d.flags & NLM_F_ACK);
  ASSERT_NE(d.svc[IPVS_SVC_ATTR_AF], nullptr);
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_AF]), AF_INET);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_FWMARK]), 0x5e100007u);
  EXPECT_STREQ(nla_get_string(d.svc[IPVS_SVC_ATTR_SCHED_NAME]), "wlc");
  ASSERT_NE(d.svc[IPVS_SVC_ATTR_FLAGS], nullptr);
  ip_vs_flags flags{};
  std::memcpy(&flags, nla_data(d.svc[IPVS_SVC_ATTR_FLAGS]), sizeof(flags));
  EXPECT_EQ(flags.flags & IP_VS_SVC_F_PERSISTENT, 0u);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_NETMASK]), 0xffffffffu);
  EXPECT_EQ(d.svc[IPVS_SVC_ATTR_ADDR], nullptr);  // keyed by mark, not by address
  EXPECT_EQ(d.top[IPVS_CMD_ATTR_DEST], nullptr);
}

TEST(IpvsMessages, ADeletedServiceIsNamedByItsMarkOnly) {
  auto msg = encode(service_request(Command::kDelService, 9), kFamily);
  ASSERT_TRUE(msg.ok());
  Decoded d = decode(msg->get());
  EXPECT_EQ(d.cmd, IPVS_CMD_DEL_SERVICE);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_FWMARK]), 9u);
  EXPECT_EQ(d.svc[IPVS_SVC_ATTR_SCHED_NAME], nullptr);
}

TEST(IpvsMessages, ADestinationIsNatWithItsAddressPortAndWeight) {
  auto msg = encode(dest_request(Command::kNewDest, 5, *Ipv4::parse("10.0.3.7"), 8080, 3), kFamily);
  ASSERT_TRUE(msg.ok());
  Decoded d = decode(msg->get());
  EXPECT_EQ(d.cmd, IPVS_CMD_NEW_DEST);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_FWMARK]), 5u);
  ASSERT_NE(d.dest[IPVS_DEST_ATTR_ADDR], nullptr);
  ASSERT_EQ(nla_len(d.dest[IPVS_DEST_ATTR_ADDR]), 16);
  const auto* addr = static_cast<const uint8_t*>(nla_data(d.dest[IPVS_DEST_ATTR_ADDR]));
  EXPECT_EQ(addr[0], 10);
  EXPECT_EQ(addr[1], 0);
  EXPECT_EQ(addr[2], 3);
  EXPECT_EQ(addr[3], 7);
  EXPECT_EQ(ntohs(nla_get_u16(d.dest[IPVS_DEST_ATTR_PORT])), 8080);
  EXPECT_EQ(nla_get_u16(d.dest[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
  EXPECT_EQ(nla_get_u32(d.dest[IPVS_DEST_ATTR_FWD_METHOD]), unsigned{IP_VS_CONN_F_MASQ});
  EXPECT_EQ(nla_get_u32(d.dest[IPVS_DEST_ATTR_WEIGHT]), 3u);
  EXPECT_NE(d.dest[IPVS_DEST_ATTR_U_THRESH], nullptr);
  EXPECT_NE(d.dest[IPVS_DEST_ATTR_L_THRESH], nullptr);
}

TEST(IpvsMessages, ADrainIsAChangeToWeightZeroAndADeleteCarriesNoWeight) {
  auto drain = encode(dest_request(Command::kSetDest, 5, *Ipv4::parse("10.0.3.7"), 0, 0), kFamily);
  ASSERT_TRUE(drain.ok());
  Decoded d = decode(drain->get());
  EXPECT_EQ(d.cmd, IPVS_CMD_SET_DEST);
  ASSERT_NE(d.dest[IPVS_DEST_ATTR_WEIGHT], nullptr);
  EXPECT_EQ(nla_get_u32(d.dest[IPVS_DEST_ATTR_WEIGHT]), 0u);
  EXPECT_EQ(nla_get_u16(d.dest[IPVS_DEST_ATTR_PORT]), 0);

  auto del = encode(dest_request(Command::kDelDest, 5, *Ipv4::parse("10.0.3.7"), 0), kFamily);
  ASSERT_TRUE(del.ok());
  Decoded e = decode(del->get());
  EXPECT_EQ(e.cmd, IPVS_CMD_DEL_DEST);
  EXPECT_NE(e.dest[IPVS_DEST_ATTR_ADDR], nullptr);
  EXPECT_EQ(e.dest[IPVS_DEST_ATTR_WEIGHT], nullptr);
}

TEST(IpvsMessages, ConfigCarriesOnlyTheTimeoutsGiven) {
  auto msg = encode(config_request(86400, 0, 0), kFamily);
  ASSERT_TRUE(msg.ok());
  Decoded d = decode(msg->get());
  EXPECT_EQ(d.cmd, IPVS_CMD_SET_CONFIG);
  ASSERT_NE(d.top[IPVS_CMD_ATTR_TIMEOUT_TCP], nullptr);
  EXPECT_EQ(nla_get_u32(d.top[IPVS_CMD_ATTR_TIMEOUT_TCP]), 86400u);
  EXPECT_EQ(d.top[IPVS_CMD_ATTR_TIMEOUT_UDP], nullptr);  // 0 would be taken literally
  EXPECT_EQ(d.top[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN], nullptr);
}

TEST(IpvsMessages, ADestinationsDumpAsksForADumpOfTheMarkedService) {
  auto msg = encode(service_request(Command::kGetDests, 77), kFamily);
  ASSERT_TRUE(msg.ok());
  Decoded d = decode(msg->get());
  EXPECT_EQ(d.cmd, IPVS_CMD_GET_DEST);
  EXPECT_EQ(d.flags & NLM_F_DUMP, NLM_F_DUMP);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_FWMARK]), 77u);
}

// A dump reply as the kernel writes it (ip_vs_genl_fill_dest), decoded.
TEST(IpvsMessages, ADumpedDestinationGivesItsAddressPortWeightAndConnections) {
  NlMsg reply(nlmsg_alloc());
  ASSERT_NE(
      genlmsg_put(reply.get(), 0, 1, kFamily, 0, NLM_F_MULTI, IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION),
      nullptr);
  nlattr* nest = nla_nest_start(reply.get(), IPVS_CMD_ATTR_DEST);
  uint8_t addr[16] = {10, 0, 3, 9};
  nla_put(reply.get(), IPVS_DEST_ATTR_ADDR, sizeof(addr), addr);
  nla_put_u16(reply.get(), IPVS_DEST_ATTR_PORT, htons(8080));
  nla_put_u32(reply.get(), IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
  nla_put_u32(reply.get(), IPVS_DEST_ATTR_WEIGHT, 0);
  nla_put_u32(reply.get(), IPVS_DEST_ATTR_ACTIVE_CONNS, 4);
  nla_put_u32(reply.get(), IPVS_DEST_ATTR_INACT_CONNS, 9);
  nla_nest_end(reply.get(), nest);
  auto dest = decode_dest(nlmsg_hdr(reply.get()));
  ASSERT_TRUE(dest.ok()) << dest.error().message();
  EXPECT_EQ(dest->ip, *Ipv4::parse("10.0.3.9"));
  EXPECT_EQ(dest->port, 8080);
  EXPECT_EQ(dest->weight, 0u);
  EXPECT_EQ(dest->active, 4u);
  EXPECT_EQ(dest->inactive, 9u);
}

TEST(IpvsMessages, ADumpMessageWithoutItsCountsIsRefused) {
  NlMsg reply(nlmsg_alloc());
  ASSERT_NE(
      genlmsg_put(reply.get(), 0, 1, kFamily, 0, NLM_F_MULTI, IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION),
      nullptr);
  nlattr* nest = nla_nest_start(reply.get(), IPVS_CMD_ATTR_DEST);
  uint8_t addr[16] = {10, 0, 3, 9};
  nla_put(reply.get(), IPVS_DEST_ATTR_ADDR, sizeof(addr), addr);
  nla_nest_end(reply.get(), nest);
  auto dest = decode_dest(nlmsg_hdr(reply.get()));
  ASSERT_FALSE(dest.ok());
  EXPECT_NE(dest.error().message().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace shoal::ipvs
