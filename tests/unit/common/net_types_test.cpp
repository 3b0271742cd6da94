#include "common/net_types.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(Ipv4, ParsesAndPrints) {
  auto ip = Ipv4::parse("10.0.1.254");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->host_order(), 0x0a0001feu);
  EXPECT_EQ(ip->str(), "10.0.1.254");
}

TEST(Ipv4, RejectsMalformedText) {
  for (const char* bad : {"", "10.0.1", "10.0.1.2.3", "10.0.1.256", "10..1.2", "a.b.c.d",
                          "10.0.1.-1", " 10.0.1.2", "10.0.1.2/24"}) {
    auto ip = Ipv4::parse(bad);
    ASSERT_FALSE(ip.ok()) << bad;
    EXPECT_NE(ip.error().message().find("IPv4 address"), std::string::npos);
  }
}

TEST(Ipv4Prefix, NetworkBroadcastAndMembership) {
  auto prefix = Ipv4Prefix::parse("10.0.1.77/24");
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->network().str(), "10.0.1.0");
  EXPECT_EQ(prefix->broadcast().str(), "10.0.1.255");
  EXPECT_TRUE(prefix->contains(*Ipv4::parse("10.0.1.1")));
  EXPECT_FALSE(prefix->contains(*Ipv4::parse("10.0.2.1")));
  EXPECT_TRUE(prefix->is_host_address(*Ipv4::parse("10.0.1.1")));
  EXPECT_FALSE(prefix->is_host_address(*Ipv4::parse("10.0.1.0")));
  EXPECT_FALSE(prefix->is_host_address(*Ipv4::parse("10.0.1.255")));
}

TEST(Ipv4Prefix, Overlaps) {
  auto a = *Ipv4Prefix::parse("10.0.0.0/16");
  auto b = *Ipv4Prefix::parse("10.0.5.0/24");
  auto c = *Ipv4Prefix::parse("10.1.0.0/24");
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  EXPECT_FALSE(a.overlaps(c));
}

TEST(Ipv4Prefix, RejectsBadLength) {
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.0.0/33").ok());
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.0.0").ok());
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.0.0/").ok());
}

TEST(Mac, DerivedFromIpv4LikeDocker) {
  EXPECT_EQ(Mac::from_ipv4(*Ipv4::parse("10.0.1.11")).str(), "02:42:0a:00:01:0b");
}

TEST(Mac, ParsesAndRejects) {
  auto mac = Mac::parse("02:42:AA:bb:0c:01");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->str(), "02:42:aa:bb:0c:01");
  EXPECT_FALSE(Mac::parse("02:42:aa:bb:0c").ok());
  EXPECT_FALSE(Mac::parse("02-42-aa-bb-0c-01").ok());
  EXPECT_FALSE(Mac::parse("02:42:aa:bb:0c:0g").ok());
}

TEST(PortOf, TakesThePortAfterTheLastColonOrFallsBack) {
  EXPECT_EQ(port_of("198.51.100.11:2377", 1), 2377);
  EXPECT_EQ(port_of("0.0.0.0:4000", 1), 4000);
  EXPECT_EQ(port_of("198.51.100.11", 2377), 2377);
  EXPECT_EQ(port_of("host:", 2377), 2377);
  EXPECT_EQ(port_of("host:0", 2377), 2377);
  EXPECT_EQ(port_of("host:65536", 2377), 2377);
  EXPECT_EQ(port_of("host:12ab", 2377), 2377);
}

}  // namespace
}  // namespace shoal
