// The service plane's own logic without a kernel: the rows it builds from a running task, and how
// they come out of the feed on another node (the same code path as the gossip watcher), and the
// feed learning which network is the ingress after rows of it arrived.
#include <gtest/gtest.h>

#include "control/agent/plane/service_plane.h"
#include "control/agent/rows/endpoint_table.h"
#include "tests/support/assertions.h"
#include "tests/support/recording_sinks.h"

namespace shoal::agent {
namespace {

using agent::EndpointRecord;
using agent::PublishedPortRecord;
using dataplane::dns::EndpointMode;
using gossip::networkdb::WatchEvent;
using gossip::networkdb::WatchEventType;
using testing::ip;

TaskService web_task(const char* id, const char* app_ip, const char* ingress_ip) {
  TaskService task;
  task.task_id = id;
  task.task_name = std::string("web.1.") + id;
  task.service_id = "svc-web";
  task.service_name = "web";
  task.netns = "ns";
  task.endpoints = {{"app", ip(app_ip), ip("10.0.1.2"), {"www"}},
                    {"ingress", ip(ingress_ip), ip("10.0.0.2"), {}}};
  task.ports = {{8080, 80, lb::Protocol::kTcp, agent::PublishMode::kIngress, false},
                {9090, 90, lb::Protocol::kUdp, agent::PublishMode::kHost, false}};
  return task;
}

TEST(EndpointRows, OneRowPerNetworkWithThePortsOnTheIngressRowOnly) {
  auto rows = endpoint_rows(web_task("t1", "10.0.1.11", "10.0.0.11"), "ingress");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].network_id, "app");
  EXPECT_EQ(rows[0].task_ip, ip("10.0.1.11"));
  EXPECT_EQ(rows[0].vip, ip("10.0.1.2"));
  EXPECT_EQ(rows[0].mode, EndpointMode::kVip);
  EXPECT_EQ(rows[0].aliases, std::vector<std::string>{"www"});
  EXPECT_TRUE(rows[0].published.empty());
  EXPECT_EQ(rows[1].network_id, "ingress");
  EXPECT_EQ(rows[1].task_ip, ip("10.0.0.11"));
  ASSERT_EQ(rows[1].published.size(), 2u);
  EXPECT_EQ(rows[1].published[1].mode, agent::PublishMode::kHost);
  for (const EndpointRecord& row : rows) {
    EXPECT_EQ(row.task_id, "t1");
    EXPECT_EQ(row.service_id, "svc-web");
    EXPECT_EQ(row.service_name, "web");
    EXPECT_TRUE(row.running);
  }
}

TEST(EndpointRows, NoPortsWhileTheIngressNetworkIsUnknown) {
  for (const EndpointRecord& row : endpoint_rows(web_task("t1", "10.0.1.11", "10.0.0.11"), ""))
    EXPECT_TRUE(row.published.empty()) << row.network_id;
}

TEST(EndpointRows, DnsrrRowsCarryNoVip) {
  TaskService task = web_task("t1", "10.0.1.11", "10.0.0.11");
  task.dnsrr = true;
  for (const EndpointRecord& row : endpoint_rows(task, "ingress")) {
    EXPECT_FALSE(row.vip.has_value());
    EXPECT_EQ(row.mode, EndpointMode::kDnsrr);
  }
}

TEST(EndpointRows, ANetworkWithoutAVipIsDnsrrThere) {
  TaskService task = web_task("t1", "10.0.1.11", "10.0.0.11");
  task.endpoints[1].vip.reset();
  auto rows = endpoint_rows(task, "ingress");
  EXPECT_EQ(rows[0].mode, EndpointMode::kVip);
  EXPECT_EQ(rows[1].mode, EndpointMode::kDnsrr);
}

// What a node receives: the rows as the table carries them, decoded by the feed.
class RowsOnAnotherNode : public ::testing::Test {
 protected:
  void deliver(const TaskService& task, const std::string& ingress, const std::string& owner) {
    for (const EndpointRecord& row : endpoint_rows(task, ingress)) {
      WatchEvent event{WatchEventType::kCreate,
                       agent::kEndpointTable,
                       row.network_id,
                       row.task_id,
                       agent::encode_endpoint(row),
                       owner};
      ASSERT_OK(table.on_event(event));
    }
  }
  void remove(const std::string& task_id, const std::string& network) {
    ASSERT_OK(table.on_event(
        WatchEvent{WatchEventType::kDelete, agent::kEndpointTable, network, task_id, {}, {}}));
  }
  static std::vector<Ipv4> ips(const std::vector<lb::Backend>& backends) {
    std::vector<Ipv4> out;
    for (const lb::Backend& b : backends)
      out.push_back(b.ip);
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::RecordingBalancer balancer;
  testing::RecordingDns dns;
  agent::ServiceFeed feed{"ingress", balancer, dns};
  agent::EndpointTableFeed table{"me", feed};
};

TEST_F(RowsOnAnotherNode, GiveAVipOverTheTasksAndThePublishedPortsOverTheirIngressAddresses) {
  deliver(web_task("t1", "10.0.1.11", "10.0.0.11"), "ingress", "other");
  deliver(web_task("t2", "10.0.1.12", "10.0.0.12"), "ingress", "me");
  ASSERT_TRUE(balancer.services.contains("svc-web/app"));
  const lb::Service& vip = balancer.services["svc-web/app"];
  EXPECT_EQ(vip.frontends.front().vip, ip("10.0.1.2"));
  EXPECT_EQ(ips(vip.backends), (std::vector<Ipv4>{ip("10.0.1.11"), ip("10.0.1.12")}));
  const lb::Service& ingress = balancer.services["svc-web/ingress"];
  ASSERT_EQ(ingress.published.size(), 1u);
  EXPECT_EQ(ingress.published[0].port, 8080);
  EXPECT_EQ(ips(ingress.ingress_backends), (std::vector<Ipv4>{ip("10.0.0.11"), ip("10.0.0.12")}));
  // mode=host: this node's own task only.
  const lb::Service& local = balancer.services["svc-web/ingress/local"];
  EXPECT_EQ(local.published.at(0).port, 9090);
  EXPECT_EQ(ips(local.ingress_backends), std::vector<Ipv4>{ip("10.0.0.12")});
  // Names on the app network only.
  EXPECT_TRUE(dns.records.contains({"svc-web", "app"}));
  EXPECT_FALSE(dns.records.contains({"svc-web", "ingress"}));
  EXPECT_EQ(dns.records[std::make_pair("svc-web", "app")].aliases, std::vector<std::string>{"www"});

  remove("t1", "app");
  remove("t1", "ingress");
  EXPECT_EQ(ips(balancer.services["svc-web/app"].backends), std::vector<Ipv4>{ip("10.0.1.12")});
  EXPECT_EQ(ips(balancer.services["svc-web/ingress"].ingress_backends),
            std::vector<Ipv4>{ip("10.0.0.12")});
}

TEST(ServiceFeedIngress, RowsThatArrivedBeforeTheIngressWasKnownAreReprogrammed) {
  testing::RecordingBalancer balancer;
  testing::RecordingDns dns;
  agent::ServiceFeed feed{"", balancer, dns};
  agent::EndpointTableFeed table{"me", feed};
  for (const EndpointRecord& row : endpoint_rows(web_task("t1", "10.0.1.11", "10.0.0.11"), "")) {
    ASSERT_OK(
        table.on_event(WatchEvent{WatchEventType::kCreate, agent::kEndpointTable, row.network_id,
                                  row.task_id, agent::encode_endpoint(row), "other"}));
  }
  // Until then "ingress" looks like any network: a VIP and names.
  EXPECT_TRUE(balancer.services.contains("svc-web/ingress"));
  EXPECT_TRUE(dns.records.contains({"svc-web", "ingress"}));

  ASSERT_OK(feed.set_ingress_network("ingress"));
  EXPECT_FALSE(dns.records.contains({"svc-web", "ingress"}));
  EXPECT_TRUE(dns.records.contains({"svc-web", "app"}));
  // The rows carry no ports yet (their publisher republishes them): nothing on ingress.
  EXPECT_FALSE(balancer.services.contains("svc-web/ingress"));
  EXPECT_TRUE(balancer.services.contains("svc-web/app"));

  // The republished row with its ports.
  for (const EndpointRecord& row :
       endpoint_rows(web_task("t1", "10.0.1.11", "10.0.0.11"), "ingress")) {
    ASSERT_OK(
        table.on_event(WatchEvent{WatchEventType::kUpdate, agent::kEndpointTable, row.network_id,
                                  row.task_id, agent::encode_endpoint(row), "other"}));
  }
  ASSERT_TRUE(balancer.services.contains("svc-web/ingress"));
  EXPECT_TRUE(balancer.services["svc-web/ingress"].frontends.empty());
  EXPECT_EQ(balancer.services["svc-web/ingress"].published.size(), 1u);

  // Moving the role back: the old ingress's ports go, it is an ordinary network again.
  ASSERT_OK(feed.set_ingress_network("other-ingress"));
  EXPECT_FALSE(balancer.services.contains("svc-web/ingress/local"));
  EXPECT_TRUE(balancer.services["svc-web/ingress"].published.empty());
  EXPECT_TRUE(dns.records.contains({"svc-web", "ingress"}));
  ASSERT_OK(feed.set_ingress_network("other-ingress"));  // no change
}

}  // namespace
}  // namespace shoal::agent
