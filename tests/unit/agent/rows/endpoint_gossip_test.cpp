// The service endpoint table end to end over the replicated tables (in-memory network, fake
// clock): a row one node publishes programs the load balancer and DNS of the other nodes on that
// network, and only theirs; a stopping task leaves rotation; a deleted row leaves nothing.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "control/agent/rows/endpoint_table.h"
#include "gossip/testing/networkdb_cluster.h"
#include "tests/support/assertions.h"
#include "tests/support/recording_sinks.h"

namespace shoal::agent {
namespace {

using namespace std::chrono_literals;
using gossip::testing::ClusterNode;
using testing::ip;

// One node's consumers of the table, as its agent wires them.
struct Consumer {
  testing::RecordingBalancer balancer;
  testing::RecordingDns dns;
  ServiceFeed feed{"ingress", balancer, dns};
  EndpointTableFeed table;

  Consumer(ClusterNode& node, const std::string& name) : table(name, feed) {
    node.db->watch(kEndpointTable,
                   [this](const gossip::networkdb::WatchEvent& e) { (void)table.on_event(e); });
  }
};

EndpointRecord task_row(bool running) {
  EndpointRecord r;
  r.service_id = "svc1";
  r.service_name = "web";
  r.network_id = "app";
  r.vip = ip("10.0.1.2");
  r.task_id = "t1";
  r.task_ip = ip("10.0.1.11");
  r.running = running;
  return r;
}

TEST(EndpointTableOverGossip, ARowPublishedOnOneNodeProgramsTheOthersOnItsNetwork) {
  spdlog::set_level(spdlog::level::warn);
  gossip::testing::NetworkDbTestCluster cluster;
  ClusterNode& a = cluster.add("node-a");
  ClusterNode& b = cluster.add("node-b");
  ClusterNode& c = cluster.add("node-c");
  cluster.clock.advance(2s);
  ASSERT_OK(a.db->join_network("app"));
  ASSERT_OK(b.db->join_network("app"));  // c is not on "app"
  cluster.clock.advance(2s);
  Consumer on_b(b, "node-b");
  Consumer on_c(c, "node-c");

  ASSERT_OK(a.db->create_entry(kEndpointTable, "app", "t1", encode_endpoint(task_row(true))));
  cluster.clock.advance(2s);
  ASSERT_TRUE(on_b.balancer.services.contains("svc1/app"));
  const lb::Service& vip = on_b.balancer.services.at("svc1/app");
  ASSERT_EQ(vip.backends.size(), 1u);
  EXPECT_EQ(vip.backends[0].ip, ip("10.0.1.11"));
  EXPECT_EQ(on_b.dns.records.at({"svc1", "app"}).name, "web");
  EXPECT_TRUE(on_c.balancer.services.empty()) << "a node off the network got the row";

  ASSERT_OK(a.db->update_entry(kEndpointTable, "app", "t1", encode_endpoint(task_row(false))));
  cluster.clock.advance(2s);
  EXPECT_TRUE(on_b.balancer.services.at("svc1/app").backends.empty()) << "a stopping task served";

  ASSERT_OK(a.db->delete_entry(kEndpointTable, "app", "t1"));
  cluster.clock.advance(2s);
  EXPECT_FALSE(on_b.balancer.services.contains("svc1/app"));
  EXPECT_FALSE(on_b.dns.records.contains({"svc1", "app"}));
  EXPECT_EQ(on_b.table.rejected(), 0u);
}

}  // namespace
}  // namespace shoal::agent
