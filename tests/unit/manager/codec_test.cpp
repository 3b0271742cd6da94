// The store codec keeps what rolling updates need across a manager restart: update and rollback
// configs, placement preferences, previous spec, update status, a task's start time, network
// aliases; and reads services and tasks written before those existed with Docker's defaults.
#include "control/manager/store/codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace shoal::manager {
namespace {

using std::chrono::milliseconds;

Service round_trip(const Service& service) {
  auto decoded = decode("service", encode(service));
  EXPECT_TRUE(decoded.ok()) << decoded.error().message();
  return std::get<Service>(*decoded);
}

TEST(Codec, ServiceUpdateFieldsRoundTrip) {
  Service s;
  s.id = "s1";
  s.spec.name = "web";
  s.spec.command = {"/bin/new"};
  s.spec.placement_prefs = {"spread=node.labels.zone"};
  s.spec.update = UpdateConfig{.parallelism = 2,
                               .delay = milliseconds(1500),
                               .failure_action = FailureAction::kRollback,
                               .monitor = milliseconds(750),
                               .max_failure_ratio = 0.25,
                               .order = UpdateOrder::kStartFirst};
  s.spec.rollback.failure_action = FailureAction::kContinue;
  s.spec.force_update = 3;
  s.spec.networks = {"net1"};
  s.spec.network_aliases = {{"net1", {"backend", "api"}}};
  ServiceSpec old;
  old.name = "web";
  old.command = {"/bin/old"};
  s.previous_spec = old;
  s.update_status = UpdateStatus{.state = UpdateState::kRollbackPaused,
                                 .started_at = TimePoint{} + milliseconds(5000),
                                 .completed_at = std::nullopt,
                                 .message = "rollback paused"};
  auto back = round_trip(s);
  EXPECT_EQ(back.spec.placement_prefs, s.spec.placement_prefs);
  EXPECT_EQ(back.spec.update, s.spec.update);
  EXPECT_EQ(back.spec.rollback, s.spec.rollback);
  EXPECT_EQ(back.spec.force_update, 3u);
  EXPECT_EQ(back.spec.network_aliases, s.spec.network_aliases);
  ASSERT_TRUE(back.previous_spec.has_value());
  EXPECT_EQ(back.previous_spec->command, old.command);
  EXPECT_EQ(back.update_status.state, UpdateState::kRollbackPaused);
  EXPECT_EQ(back.update_status.started_at, s.update_status.started_at);
  EXPECT_FALSE(back.update_status.completed_at.has_value());
  EXPECT_EQ(back.update_status.message, "rollback paused");
}

TEST(Codec, AServiceWithoutUpdateFieldsGetsDockersDefaults) {
  Service s;
  s.id = "s1";
  s.spec.name = "web";
  auto text = encode(s);
  for (const char* key : {",\"update\":", ",\"rollback\":", ",\"placement_prefs\":"}) {
    auto at = text.find(key);
    ASSERT_NE(at, std::string::npos) << key;
  }
  // Written by an older manager: no update keys at all.
  auto decoded = decode(
      "service",
      R"({"id":"s1","spec":{"name":"web","command":[],"args":[],"env":[],"global":false,)"
      R"("replicas":1,"networks":[],"ports":[],"endpoint_mode":0,"constraints":[],)"
      R"("restart_condition":0,"restart_delay_ms":5000,"restart_max_attempts":0,)"
      R"("stop_grace_period_ms":10000,"max_replicas_per_node":0},)"
      R"("endpoint":{"ports":[],"vips":{}},"allocated":false,"spec_version":1,"version":4})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& plain = std::get<Service>(*decoded);
  EXPECT_EQ(plain.spec.update, UpdateConfig{});
  EXPECT_EQ(plain.spec.update.monitor, std::chrono::seconds(5));
  EXPECT_FALSE(plain.previous_spec.has_value());
  EXPECT_EQ(plain.update_status.state, UpdateState::kNone);
  EXPECT_TRUE(plain.spec.network_aliases.empty());  // written before aliases existed
}

TEST(Codec, TaskStartTimeAndForceUpdateRoundTrip) {
  Task t;
  t.id = "t1";
  t.service_id = "s1";
  ASSERT_TRUE(advance(t, TaskState::kRunning, {}, TimePoint{} + milliseconds(1234)).ok());
  t.runtime.force_update = 2;
  t.runtime.network_aliases = {{"net1", {"backend"}}};
  auto decoded = decode("task", encode(t));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& back = std::get<Task>(*decoded);
  EXPECT_EQ(back.started_at, TimePoint{} + milliseconds(1234));
  EXPECT_EQ(back.runtime.force_update, 2u);
  EXPECT_EQ(back.runtime.network_aliases, t.runtime.network_aliases);
}

TEST(Codec, NodeLoadBalancerRoundTripsAndIsEmptyInAnOlderStore) {
  Node n;
  n.id = "n1";
  n.hostname = "h1";
  n.lb_backend = "ipvs";
  auto decoded = decode("node", encode(n));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(std::get<Node>(*decoded).lb_backend, "ipvs");

  auto json = nlohmann::json::parse(encode(n));
  json.erase("lb_backend");  // a node written before the agent reported its backend
  auto older = decode("node", json.dump());
  ASSERT_TRUE(older.ok()) << older.error().message();
  EXPECT_EQ(std::get<Node>(*older).lb_backend, "");
}

}  // namespace
}  // namespace shoal::manager
