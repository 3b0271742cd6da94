// The agent's feed from service endpoint rows to the load balancer and the DNS, against
// recording fakes.
#include "control/agent/rows/service_feed.h"

#include <gtest/gtest.h>

#include "tests/support/assertions.h"
#include "tests/support/recording_sinks.h"

namespace shoal::agent {
namespace {

using dataplane::dns::EndpointMode;
using dataplane::dns::ServiceRecord;

using testing::ip;
using testing::RecordingBalancer;
using testing::RecordingDns;

EndpointRecord row(const char* task, const char* network, const char* task_ip, bool running = true,
                   bool local = false) {
  EndpointRecord r;
  r.service_id = "svc1";
  r.service_name = "web";
  r.aliases = {"www"};
  r.network_id = network;
  r.vip = std::string(network) == "app" ? std::optional(ip("10.0.1.2")) : std::nullopt;
  r.task_id = task;
  r.task_ip = ip(task_ip);
  r.running = running;
  r.local = local;
  r.published = {PublishedPortRecord{8080, 80, lb::Protocol::kTcp, PublishMode::kIngress, false}};
  return r;
}

std::vector<std::string> addresses(const std::vector<lb::Backend>& backends) {
  std::vector<std::string> out;
  for (const lb::Backend& b : backends)
    out.push_back(b.ip.str());
  return out;
}

class ServiceFeedTest : public ::testing::Test {
 protected:
  RecordingBalancer balancer_;
  RecordingDns dns_;
  ServiceFeed feed_{"ingress", balancer_, dns_};
};

TEST_F(ServiceFeedTest, AVipOnEachNetworkOverItsRunningTasks) {
  ASSERT_TRUE(feed_.upsert(row("t1", "app", "10.0.1.11")).ok());
  ASSERT_TRUE(feed_.upsert(row("t2", "app", "10.0.1.12")).ok());
  ASSERT_TRUE(feed_.upsert(row("t3", "app", "10.0.1.13", /*running=*/false)).ok());
  const lb::Service& vip = balancer_.services.at("svc1/app");
  ASSERT_EQ(vip.frontends.size(), 2u) << "TCP and UDP";
  EXPECT_EQ(vip.frontends[0].vip, ip("10.0.1.2"));
  EXPECT_EQ(vip.frontends[0].port, 0) << "every port, as Swarm's VIP";
  EXPECT_EQ(addresses(vip.backends), (std::vector<std::string>{"10.0.1.11", "10.0.1.12"}));
  const ServiceRecord& names = dns_.records.at({"svc1", "app"});
  EXPECT_EQ(names.name, "web");
  EXPECT_EQ(names.aliases, std::vector<std::string>{"www"});
  EXPECT_EQ(names.task_ips, (std::vector<Ipv4>{ip("10.0.1.11"), ip("10.0.1.12")}));
}

TEST_F(ServiceFeedTest, AStoppingTaskLeavesRotationAtOnce) {
  ASSERT_TRUE(feed_.upsert(row("t1", "app", "10.0.1.11")).ok());
  ASSERT_TRUE(feed_.upsert(row("t2", "app", "10.0.1.12")).ok());
  ASSERT_TRUE(feed_.upsert(row("t1", "app", "10.0.1.11", /*running=*/false)).ok());
  EXPECT_EQ(addresses(balancer_.services.at("svc1/app").backends),
            std::vector<std::string>{"10.0.1.12"});
  EXPECT_EQ(dns_.records.at({"svc1", "app"}).task_ips, std::vector<Ipv4>{ip("10.0.1.12")});
}

TEST_F(ServiceFeedTest, TheLastTaskGoingRemovesTheServiceFromThatNetworkOnly) {
  ASSERT_TRUE(feed_.upsert(row("t1", "app", "10.0.1.11")).ok());
  ASSERT_TRUE(feed_.upsert(row("t1", "ingress", "10.0.0.11")).ok());
  ASSERT_TRUE(feed_.remove("svc1", "app", "t1").ok());
  EXPECT_FALSE(balancer_.services.contains("svc1/app"));
  EXPECT_FALSE(dns_.records.contains({"svc1", "app"}));
  EXPECT_TRUE(balancer_.services.contains("svc1/ingress"));
  EXPECT_TRUE(feed_.remove("svc1", "app", "t1").ok()) << "removing twice is harmless";
}

TEST_F(ServiceFeedTest, PublishedPortsGoOverEveryRunningIngressTask) {
  ASSERT_TRUE(feed_.upsert(row("t1", "ingress", "10.0.0.11", true, true)).ok());
  ASSERT_TRUE(feed_.upsert(row("t2", "ingress", "10.0.0.12", true, false)).ok());
  const lb::Service& mesh = balancer_.services.at("svc1/ingress");
  EXPECT_EQ(mesh.published.at(0).port, 8080);
  EXPECT_EQ(mesh.published.at(0).target_port, 80);
  EXPECT_EQ(addresses(mesh.ingress_backends), (std::vector<std::string>{"10.0.0.11", "10.0.0.12"}));
  EXPECT_TRUE(mesh.frontends.empty());
  EXPECT_FALSE(dns_.records.contains({"svc1", "ingress"})) << "no names on the ingress network";
}

TEST_F(ServiceFeedTest, HostModeAndKeptSourcesUseThisNodesTasksOnly) {
  EndpointRecord local = row("t1", "ingress", "10.0.0.11", true, true);
  local.published = {
      PublishedPortRecord{8080, 80, lb::Protocol::kTcp, PublishMode::kHost, false},
      PublishedPortRecord{9090, 90, lb::Protocol::kTcp, PublishMode::kIngress, true},
      PublishedPortRecord{7070, 70, lb::Protocol::kUdp, PublishMode::kIngress, false}};
  EndpointRecord remote = local;
  remote.task_id = "t2";
  remote.task_ip = ip("10.0.0.12");
  remote.local = false;
  ASSERT_TRUE(feed_.upsert(local).ok());
  ASSERT_TRUE(feed_.upsert(remote).ok());
  const lb::Service& only_here = balancer_.services.at("svc1/ingress/local");
  EXPECT_EQ(only_here.published.size(), 2u);
  EXPECT_TRUE(only_here.published[1].preserve_source);
  EXPECT_EQ(addresses(only_here.ingress_backends), std::vector<std::string>{"10.0.0.11"});
  const lb::Service& everywhere = balancer_.services.at("svc1/ingress");
  EXPECT_EQ(everywhere.published.size(), 1u);
  EXPECT_EQ(everywhere.published[0].port, 7070);
  EXPECT_EQ(everywhere.ingress_backends.size(), 2u);
}

TEST_F(ServiceFeedTest, DnsrrHasNamesButNoVip) {
  EndpointRecord r = row("t1", "app", "10.0.1.11");
  r.mode = EndpointMode::kDnsrr;
  r.vip.reset();
  ASSERT_TRUE(feed_.upsert(r).ok());
  EXPECT_FALSE(balancer_.services.contains("svc1/app"));
  EXPECT_EQ(dns_.records.at({"svc1", "app"}).task_ips, std::vector<Ipv4>{ip("10.0.1.11")});
}

TEST_F(ServiceFeedTest, RejectsRowsWithoutIdentity) {
  EndpointRecord r = row("", "app", "10.0.1.11");
  EXPECT_FALSE(feed_.upsert(r).ok());
  EXPECT_TRUE(balancer_.services.empty());
}

}  // namespace
}  // namespace shoal::agent
