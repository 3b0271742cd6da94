// Invalid specs are refused with one clear line each.
#include "control/manager/rules/validation.h"

#include <gtest/gtest.h>

namespace shoal::manager {
namespace {

ServiceSpec valid_spec() {
  ServiceSpec spec;
  spec.name = "web";
  spec.command = {"/bin/sleep", "100"};
  return spec;
}

std::string refusal(const ServiceSpec& spec) {
  auto status = validate_service_spec(spec);
  return status.ok() ? "accepted" : status.error().message();
}

TEST(Validation, AcceptsAGoodSpec) {
  auto spec = valid_spec();
  spec.env = {"A=1", "B="};
  spec.ports = {PortConfig{.published = 80, .target = 8080},
                PortConfig{.published = 80, .target = 53, .protocol = Protocol::kUdp}};
  spec.constraints = {"node.role==worker"};
  EXPECT_EQ(refusal(spec), "accepted");
}

TEST(Validation, ServiceNames) {
  auto spec = valid_spec();
  spec.name = "";
  EXPECT_EQ(refusal(spec), "invalid service name: is empty");
  spec.name = "-web";
  EXPECT_EQ(refusal(spec),
            "invalid service name \"-web\": must start and end with a letter or digit");
  spec.name = "web.1";
  EXPECT_EQ(refusal(spec),
            "invalid service name \"web.1\": may hold only letters, digits, '-' and '_'");
  spec.name = std::string(64, 'a');
  EXPECT_EQ(refusal(spec),
            "invalid service name \"" + spec.name + "\": is longer than 63 characters");
  spec.name = "my_web-2";
  EXPECT_EQ(refusal(spec), "accepted");
}

TEST(Validation, NetworkAliases) {
  auto spec = valid_spec();
  spec.networks = {"app", "back"};
  spec.network_aliases = {{"app", {"backend", "api-2", "my_db"}}, {"back", {"backend"}}};
  EXPECT_EQ(refusal(spec), "accepted");
  spec.network_aliases = {{"app", {"back.end"}}};
  EXPECT_EQ(refusal(spec),
            "invalid network alias name \"back.end\": may hold only letters, digits, '-' and '_'");
  spec.network_aliases = {{"app", {"-x"}}};
  EXPECT_EQ(refusal(spec),
            "invalid network alias name \"-x\": must start and end with a letter or digit");
  spec.network_aliases = {{"app", {""}}};
  EXPECT_EQ(refusal(spec), "invalid network alias name: is empty");
  spec.network_aliases = {{"app", {"a", "a"}}};
  EXPECT_EQ(refusal(spec),
            "invalid service web: network alias \"a\" is given twice on network app");
  spec.network_aliases = {{"elsewhere", {"a"}}};
  EXPECT_EQ(refusal(spec),
            "invalid service web: has aliases on network elsewhere, which it is not on");
}

TEST(Validation, EachBadFieldSaysWhat) {
  auto spec = valid_spec();
  spec.command.clear();
  EXPECT_EQ(refusal(spec), "invalid service web: needs a command");

  spec = valid_spec();
  spec.env = {"NOVALUE"};
  EXPECT_EQ(refusal(spec),
            "invalid service web: environment entry \"NOVALUE\" is not of the form KEY=VALUE");

  spec = valid_spec();
  spec.global = true;
  spec.max_replicas_per_node = 2;
  EXPECT_EQ(refusal(spec),
            "invalid service web: max replicas per node can only be used in replicated mode");

  spec = valid_spec();
  spec.networks = {"app", "app"};
  EXPECT_EQ(refusal(spec), "invalid service web: network app is listed more than once");

  spec = valid_spec();
  spec.ports = {PortConfig{.published = 80}};
  EXPECT_EQ(refusal(spec), "invalid service web: a published port needs a target port");

  spec = valid_spec();
  spec.ports = {PortConfig{.published = 80, .target = 1}, PortConfig{.published = 80, .target = 2}};
  EXPECT_EQ(refusal(spec), "invalid service web: port 80/tcp is published more than once");

  spec = valid_spec();
  spec.endpoint_mode = EndpointMode::kDnsrr;
  spec.ports = {PortConfig{.published = 80, .target = 80}};
  EXPECT_EQ(refusal(spec),
            "invalid service web: ports published in ingress mode need endpoint mode vip, not "
            "dnsrr");
  spec.ports[0].mode = PublishMode::kHost;  // host mode is fine with dnsrr
  EXPECT_EQ(refusal(spec), "accepted");

  spec = valid_spec();
  spec.constraints = {"node.role=worker"};
  EXPECT_EQ(refusal(spec),
            "invalid constraint \"node.role=worker\": expected exactly one operator, == or !=");

  spec = valid_spec();
  spec.restart.delay = std::chrono::milliseconds(-1);
  EXPECT_EQ(refusal(spec), "invalid service web: restart delay is negative");

  spec = valid_spec();
  spec.stop_grace_period = std::chrono::milliseconds(-5);
  EXPECT_EQ(refusal(spec), "invalid service web: stop grace period is negative");
}

TEST(Validation, UpdateConfigsAndPlacementPreferences) {
  auto spec = valid_spec();
  spec.placement_prefs = {"spread=node.labels.zone"};
  spec.update.failure_action = FailureAction::kRollback;
  spec.update.max_failure_ratio = 1;
  EXPECT_EQ(refusal(spec), "accepted");
  EXPECT_EQ(*spread_label("spread=node.labels.zone"), "zone");

  spec.placement_prefs = {"spread=node.hostname"};
  EXPECT_NE(refusal(spec).find("expected spread=node.labels.<label>"), std::string::npos);
  spec.placement_prefs = {"spread=node.labels."};
  EXPECT_NE(refusal(spec), "accepted");

  spec = valid_spec();
  spec.update.max_failure_ratio = 1.5;
  EXPECT_NE(refusal(spec).find("update: max failure ratio must be between 0 and 1"),
            std::string::npos)
      << refusal(spec);
  spec = valid_spec();
  spec.rollback.delay = std::chrono::milliseconds(-1);
  EXPECT_NE(refusal(spec).find("rollback: delay is negative"), std::string::npos) << refusal(spec);
  spec = valid_spec();
  spec.rollback.failure_action = FailureAction::kRollback;
  EXPECT_NE(refusal(spec).find("failure action must be pause or continue"), std::string::npos);
}

TEST(Validation, Networks) {
  Network network;
  network.name = "app";
  EXPECT_TRUE(validate_network(network).ok());
  network.driver = "bridge";
  EXPECT_EQ(validate_network(network).error().message(),
            "invalid network app: driver \"bridge\" is not supported (overlay)");
  network.driver = "overlay";
  network.gateway = *Ipv4::parse("10.5.0.1");
  EXPECT_EQ(validate_network(network).error().message(),
            "invalid network app: a gateway needs an explicit subnet");
  network.subnet = *Ipv4Prefix::parse("10.6.0.0/24");
  EXPECT_EQ(validate_network(network).error().message(),
            "invalid gateway 10.5.0.1: is not a host address of subnet 10.6.0.0/24");
  network.name = "bad name";
  EXPECT_EQ(validate_network(network).error().message(),
            "invalid network name \"bad name\": may hold only letters, digits, '-' and '_'");
}

}  // namespace
}  // namespace shoal::manager
