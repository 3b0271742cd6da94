// Upstream resolvers: IP[:PORT] parsing and the nameservers of a resolv.conf (read by ldns).
#include "dataplane/dns/upstream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace shoal::dataplane::dns {
namespace {

TEST(UpstreamServer, ParsesAddressWithAndWithoutPort) {
  auto plain = UpstreamServer::parse("192.0.2.53");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->str(), "192.0.2.53:53");
  auto with_port = UpstreamServer::parse("127.0.0.1:5353");
  ASSERT_TRUE(with_port.ok());
  EXPECT_EQ(with_port->port, 5353);
  for (const char* bad :
       {"", "192.0.2.53:", "192.0.2.53:0", "192.0.2.53:70000", "host:53", "192.0.2.53:53x"}) {
    EXPECT_FALSE(UpstreamServer::parse(bad).ok()) << bad;
  }
}

class ResolvConf : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/shoal-resolv-XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = name;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(ResolvConf, TakesIpv4NameserversInOrderAndSkipsIpv6AndOurselves) {
  std::ofstream(path_) << "# the node's resolvers\n"
                          "search corp.example\n"
                          "nameserver 10.1.2.3\n"
                          "nameserver 2001:db8::53\n"
                          "nameserver 127.0.0.11\n"
                          "nameserver 192.0.2.53\n"
                          "options ndots:1\n";
  auto servers = upstreams_from_resolv_conf(path_);
  ASSERT_TRUE(servers.ok()) << servers.error().message();
  ASSERT_EQ(servers->size(), 2u);
  EXPECT_EQ((*servers)[0].str(), "10.1.2.3:53");
  EXPECT_EQ((*servers)[1].str(), "192.0.2.53:53");
}

TEST_F(ResolvConf, AMissingFileIsAnErrorNamingIt) {
  auto servers = upstreams_from_resolv_conf(path_ + ".missing");
  ASSERT_FALSE(servers.ok());
  EXPECT_NE(servers.error().message().find(".missing"), std::string::npos);
}

}  // namespace
}  // namespace shoal::dataplane::dns
