#include "control/cli/publish.h"

#include <gtest/gtest.h>

namespace shoal::cli {
namespace {

void expect_port(const std::string& text, uint32_t published, uint32_t target,
                 const std::string& protocol, const std::string& mode) {
  auto port = parse_publish(text);
  ASSERT_TRUE(port.ok()) << text << ": " << port.error().message();
  EXPECT_EQ(port->published(), published) << text;
  EXPECT_EQ(port->target(), target) << text;
  EXPECT_EQ(port->protocol(), protocol) << text;
  EXPECT_EQ(port->mode(), mode) << text;
}

std::string error_of(const std::string& text) {
  auto port = parse_publish(text);
  EXPECT_FALSE(port.ok()) << text;
  return port.ok() ? "" : port.error().message();
}

TEST(CliPublish, ShortForm) {
  expect_port("8080:80", 8080, 80, "tcp", "ingress");
  expect_port("53:53/udp", 53, 53, "udp", "ingress");
  expect_port("80", 0, 80, "tcp", "ingress");
  expect_port("9000:9000/sctp", 9000, 9000, "sctp", "ingress");
}

TEST(CliPublish, LongForm) {
  expect_port("published=8080,target=80", 8080, 80, "tcp", "ingress");
  expect_port("published=53,target=53,protocol=udp,mode=host", 53, 53, "udp", "host");
  expect_port("target=80", 0, 80, "tcp", "ingress");
  expect_port("mode=host,target=443,published=8443", 8443, 443, "tcp", "host");
}

TEST(CliPublish, BadOnesSayWhy) {
  EXPECT_EQ(error_of("80:80x"), "invalid publish \"80:80x\": target port \"80x\" is not 1-65535");
  EXPECT_EQ(error_of("70000:80"),
            "invalid publish \"70000:80\": published port \"70000\" is not 1-65535");
  EXPECT_EQ(error_of("80:80/icmp"),
            "invalid publish \"80:80/icmp\": protocol \"icmp\" is not tcp, udp or sctp");
  EXPECT_EQ(error_of("published=80"), "invalid publish \"published=80\": missing target=PORT");
  EXPECT_EQ(error_of("target=80,mode=bridge"),
            "invalid publish \"target=80,mode=bridge\": mode \"bridge\" is not ingress or host");
  EXPECT_EQ(error_of("target=80,src=1"),
            "invalid publish \"target=80,src=1\": unknown field \"src\" (use published, target, "
            "protocol, mode)");
  EXPECT_EQ(error_of("target=80,udp"),
            "invalid publish \"target=80,udp\": field \"udp\" is not KEY=VALUE");
  EXPECT_EQ(error_of("8080-8081:80"),
            "invalid publish \"8080-8081:80\": port ranges are not supported");
  EXPECT_EQ(error_of(""),
            "invalid publish \"\": expected [PUBLISHED:]TARGET[/PROTOCOL], e.g. "
            "8080:80/tcp");
  EXPECT_FALSE(parse_publish(":80").ok());
  EXPECT_FALSE(parse_publish("0:80").ok());
  EXPECT_FALSE(parse_publish("80:0").ok());
}

}  // namespace
}  // namespace shoal::cli
