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

std::vector<std::string> ports_of(const api::ServiceSpec& spec) {
  std::vector<std::string> out;
  for (const auto& p : spec.ports()) {
    out.push_back(std::to_string(p.published()) + ":" + std::to_string(p.target()) + "/" +
                  p.protocol() + "/" + p.mode());
  }
  return out;
}

TEST(CliPublish, UpdateAddsReplacesAndRemovesPorts) {
  api::ServiceSpec spec;
  ASSERT_TRUE(update_ports(spec, {"8080:80", "53:53/udp", "target=443"}, {}).ok());
  EXPECT_EQ(ports_of(spec), (std::vector<std::string>{"8080:80/tcp/ingress", "53:53/udp/ingress",
                                                      "0:443/tcp/ingress"}));
  // Same target and protocol, or same published port: replaced, not added beside.
  ASSERT_TRUE(update_ports(spec, {"9090:80", "published=53,target=5353,protocol=udp"}, {}).ok());
  EXPECT_EQ(ports_of(spec), (std::vector<std::string>{"0:443/tcp/ingress", "9090:80/tcp/ingress",
                                                      "53:5353/udp/ingress"}));
  // Removal by target port, as docker's --publish-rm; removals apply before additions.
  ASSERT_TRUE(update_ports(spec, {"8443:443"}, {"443", "5353/udp"}).ok());
  EXPECT_EQ(ports_of(spec),
            (std::vector<std::string>{"9090:80/tcp/ingress", "8443:443/tcp/ingress"}));
  auto missing = update_ports(spec, {}, {"80", "81"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "invalid publish \"81\": the service publishes no such port");
  EXPECT_EQ(ports_of(spec).size(), 2u);  // nothing half done
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
