// The endpoint table rows: protobuf codec (Docker's field numbers), bounds, and the adapter from
// the table's watch events to the ServiceFeed.
#include "control/agent/rows/endpoint_table.h"

#include <gtest/gtest.h>

#include "tests/support/assertions.h"
#include "tests/support/recording_sinks.h"

namespace shoal::agent {
namespace {

using gossip::networkdb::WatchEvent;
using gossip::networkdb::WatchEventType;

using testing::ip;
using testing::RecordingBalancer;
using testing::RecordingDns;

EndpointRecord web_task(const char* task, const char* task_ip) {
  EndpointRecord r;
  r.service_id = "svc1";
  r.service_name = "web";
  r.aliases = {"www"};
  r.network_id = "ingress";
  r.vip = ip("10.0.0.2");
  r.task_id = task;
  r.task_ip = ip(task_ip);
  r.running = true;
  r.published = {PublishedPortRecord{8080, 80, lb::Protocol::kTcp, PublishMode::kIngress, true}};
  return r;
}

TEST(EndpointCodec, RoundTrips) {
  const EndpointRecord in = web_task("t1", "10.0.0.11");
  auto out = decode_endpoint(encode_endpoint(in), "ingress", "t1", true);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->service_id, "svc1");
  EXPECT_EQ(out->service_name, "web");
  EXPECT_EQ(out->aliases, std::vector<std::string>{"www"});
  EXPECT_EQ(out->vip, ip("10.0.0.2"));
  EXPECT_EQ(out->task_ip, ip("10.0.0.11"));
  ASSERT_EQ(out->published.size(), 1u);
  EXPECT_EQ(out->published[0].port, 8080);
  EXPECT_EQ(out->published[0].target_port, 80);
  EXPECT_TRUE(out->published[0].preserve_source);
  EXPECT_TRUE(out->running);
  EXPECT_TRUE(out->local);
}

TEST(EndpointCodec, UsesDockersFieldNumbers) {
  EndpointRecord only_ids;
  only_ids.service_id = "s";
  only_ids.task_ip = ip("1.2.3.4");
  only_ids.mode = dataplane::dns::EndpointMode::kDnsrr;
  only_ids.running = true;
  // service_id is field 3 (tag 0x1a), endpoint_ip field 5 (tag 0x2a), both length-delimited.
  const Bytes expected = {0x1a, 0x01, 's', 0x2a, 0x07, '1', '.', '2', '.', '3', '.', '4'};
  EXPECT_EQ(encode_endpoint(only_ids), expected);
}

TEST(EndpointCodec, DockersVipWithAPrefixAndDnsrrWithout) {
  // A Docker-written row: name, service name, id, VIP with a prefix length, endpoint IP.
  const Bytes docker = {0x0a, 0x02, 't',  '1', 0x12, 0x03, 'w', 'e', 'b', 0x1a, 0x01, 's',
                        0x22, 0x0b, '1',  '0', '.',  '0',  '.', '0', '.', '2',  '/',  '2',
                        '4',  0x2a, 0x09, '1', '0',  '.',  '0', '.', '0', '.',  '1',  '1'};
  auto row = decode_endpoint(docker, "net", "k", false);
  ASSERT_TRUE(row.ok()) << row.error().message();
  EXPECT_EQ(row->vip, ip("10.0.0.2"));
  EXPECT_EQ(row->task_ip, ip("10.0.0.11"));
  EXPECT_EQ(row->mode, dataplane::dns::EndpointMode::kVip);
}

TEST(EndpointCodec, RejectsWhatItCannotUse) {
  EXPECT_FALSE(decode_endpoint(Bytes{0xff, 0xff, 0xff}, "n", "k", false).ok());
  EXPECT_FALSE(decode_endpoint(Bytes(70000, 0x00), "n", "k", false).ok());
  EndpointRecord bad = web_task("t1", "10.0.0.11");
  bad.service_id.clear();
  auto no_service = decode_endpoint(encode_endpoint(bad), "n", "k", false);
  ASSERT_FALSE(no_service.ok());
  EXPECT_NE(no_service.error().message().find("no service id"), std::string::npos);
}

class EndpointTableFeedTest : public ::testing::Test {
 protected:
  WatchEvent event(WatchEventType type, const EndpointRecord& r, const char* owner) {
    return WatchEvent{type, kEndpointTable, r.network_id, r.task_id, encode_endpoint(r), owner};
  }
  RecordingBalancer balancer_;
  RecordingDns dns_;
  ServiceFeed service_feed_{"ingress", balancer_, dns_};
  EndpointTableFeed feed_{"node1", service_feed_};
};

TEST_F(EndpointTableFeedTest, OwnRowsAreLocalAndDeletesRemove) {
  EndpointRecord mine = web_task("t1", "10.0.0.11");
  EndpointRecord theirs = web_task("t2", "10.0.0.12");
  ASSERT_TRUE(feed_.on_event(event(WatchEventType::kCreate, mine, "node1")).ok());
  ASSERT_TRUE(feed_.on_event(event(WatchEventType::kCreate, theirs, "node2")).ok());
  // preserve_source: only node1's own task serves the port here.
  const lb::Service& local = balancer_.services.at("svc1/ingress/local");
  ASSERT_EQ(local.ingress_backends.size(), 1u);
  EXPECT_EQ(local.ingress_backends[0].ip, ip("10.0.0.11"));

  ASSERT_TRUE(feed_.on_event(event(WatchEventType::kDelete, mine, "node1")).ok());
  EXPECT_TRUE(balancer_.services.at("svc1/ingress/local").ingress_backends.empty());
}

TEST_F(EndpointTableFeedTest, ABadRowIsCountedAndTheOthersStillApply) {
  WatchEvent garbage{WatchEventType::kCreate, kEndpointTable, "ingress", "tx", {0xff}, "node3"};
  EXPECT_FALSE(feed_.on_event(garbage).ok());
  EXPECT_EQ(feed_.rejected(), 1u);
  ASSERT_TRUE(
      feed_.on_event(event(WatchEventType::kCreate, web_task("t1", "10.0.0.11"), "n2")).ok());
  EXPECT_TRUE(balancer_.services.contains("svc1/ingress/local"));
}

TEST_F(EndpointTableFeedTest, AnEndpointMovingToAnotherServiceLeavesTheOld) {
  EndpointRecord first = web_task("t1", "10.0.0.11");
  first.network_id = "app";
  ASSERT_TRUE(feed_.on_event(event(WatchEventType::kCreate, first, "n2")).ok());
  EXPECT_TRUE(balancer_.services.contains("svc1/app"));
  EndpointRecord moved = first;
  moved.service_id = "svc2";
  ASSERT_TRUE(feed_.on_event(event(WatchEventType::kUpdate, moved, "n2")).ok());
  EXPECT_FALSE(balancer_.services.contains("svc1/app"));
  EXPECT_TRUE(balancer_.services.contains("svc2/app"));
}

}  // namespace
}  // namespace shoal::agent
