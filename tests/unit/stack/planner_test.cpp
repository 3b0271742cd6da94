#include "control/stack/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/stack/compose.h"

namespace shoal::stack {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const char* kFile = R"(
services:
  api:
    command: ["sleep", "100"]
    networks: [back]
    configs: [settings]
  web:
    command: ["sleep", "200"]
    environment: [COLOUR=blue]
    networks: [back]
networks:
  back:
configs:
  settings:
    file: settings.json
)";

StackSpec parse(const std::string& yaml) {
  ComposeOptions options;
  options.stack_name = "shop";
  auto result = parse_compose(yaml, options);
  EXPECT_THAT(result.errors, IsEmpty());
  return *result.spec;
}

const std::map<std::string, std::string> kData = {{"shop_settings", "{\"a\": 1}"}};

// What the swarm would hold after the plan ran (ids made up from names), as the manager
// returns objects: specs as sent (labels included), networks and configs with labels.
SwarmObjects apply(const Plan& plan, SwarmObjects swarm,
                   const std::map<std::string, std::string>& data) {
  for (const auto& n : plan.create_networks) {
    api::Network network;
    network.set_id("id-" + n.name);
    network.set_name(n.name);
    network.mutable_labels()->insert(n.labels.begin(), n.labels.end());
    swarm.networks.push_back(network);
  }
  for (const auto& c : plan.create_configs) {
    api::Config config;
    config.set_id("id-" + c.name);
    config.set_name(c.name);
    config.set_data(data.at(c.name));
    config.mutable_labels()->insert(c.labels.begin(), c.labels.end());
    swarm.configs.push_back(config);
  }
  for (const auto& spec : plan.create_services) {
    api::Service service;
    service.set_id("id-" + spec.name());
    service.set_version(1);
    *service.mutable_spec() = spec;
    swarm.services.push_back(service);
  }
  for (const auto& update : plan.update_services) {
    for (auto& service : swarm.services) {
      if (service.id() == update.id) {
        *service.mutable_spec() = update.spec;
        service.set_version(service.version() + 1);
      }
    }
  }
  auto drop = [](auto& list, const std::vector<Removal>& removals) {
    for (const auto& r : removals) {
      std::erase_if(list, [&](const auto& object) { return object.id() == r.id; });
    }
  };
  drop(swarm.services, plan.remove_services);
  drop(swarm.configs, plan.remove_configs);
  drop(swarm.networks, plan.remove_networks);
  return swarm;
}

std::vector<std::string> names(const std::vector<api::ServiceSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs)
    out.push_back(s.name());
  return out;
}

std::vector<std::string> names(const std::vector<Removal>& removals) {
  std::vector<std::string> out;
  for (const auto& r : removals)
    out.push_back(r.name);
  return out;
}

TEST(PlannerTest, FirstDeployCreatesEverything) {
  auto plan = plan_deploy(parse(kFile), kData, {}, false);
  EXPECT_THAT(plan.errors, IsEmpty());
  ASSERT_EQ(plan.create_networks.size(), 1u);
  EXPECT_EQ(plan.create_networks[0].name, "shop_back");
  ASSERT_EQ(plan.create_configs.size(), 1u);
  EXPECT_EQ(plan.create_configs[0].name, "shop_settings");
  EXPECT_THAT(names(plan.create_services), ElementsAre("shop_api", "shop_web"));
  EXPECT_EQ(plan.create_services[0].labels().at(kSpecDigestLabel).size(), 16u);
  EXPECT_THAT(plan.update_services, IsEmpty());
}

TEST(PlannerTest, SameFileAgainChangesNothing) {
  auto spec = parse(kFile);
  auto swarm = apply(plan_deploy(spec, kData, {}, false), {}, kData);
  auto again = plan_deploy(spec, kData, swarm, true);
  EXPECT_THAT(again.errors, IsEmpty());
  EXPECT_THAT(again.create_networks, IsEmpty());
  EXPECT_THAT(again.create_configs, IsEmpty());
  EXPECT_THAT(again.create_services, IsEmpty());
  EXPECT_THAT(again.update_services, IsEmpty());
  EXPECT_THAT(again.remove_services, IsEmpty());
  EXPECT_THAT(again.unchanged_services, ElementsAre("shop_api", "shop_web"));
}

TEST(PlannerTest, ChangedServiceIsTheOnlyUpdate) {
  auto swarm = apply(plan_deploy(parse(kFile), kData, {}, false), {}, kData);
  std::string changed = kFile;
  changed.replace(changed.find("COLOUR=blue"), 11, "COLOUR=red");
  auto plan = plan_deploy(parse(changed), kData, swarm, false);
  EXPECT_THAT(plan.errors, IsEmpty());
  ASSERT_EQ(plan.update_services.size(), 1u);
  EXPECT_EQ(plan.update_services[0].id, "id-shop_web");
  EXPECT_EQ(plan.update_services[0].version, 1u);
  EXPECT_EQ(plan.update_services[0].spec.env(0), "COLOUR=red");
  EXPECT_THAT(plan.unchanged_services, ElementsAre("shop_api"));
  // Applied, the next deploy of the changed file is a no-op again.
  auto after = apply(plan, swarm, kData);
  EXPECT_THAT(plan_deploy(parse(changed), kData, after, false).update_services, IsEmpty());
}

TEST(PlannerTest, ServicesLeftOutOfTheFileGoOnlyWithPrune) {
  auto swarm = apply(plan_deploy(parse(kFile), kData, {}, false), {}, kData);
  std::string smaller = R"(
services:
  web:
    command: ["sleep", "200"]
    environment: [COLOUR=blue]
    networks: [back]
networks:
  back:
)";
  auto keep = plan_deploy(parse(smaller), kData, swarm, false);
  EXPECT_THAT(keep.remove_services, IsEmpty());
  EXPECT_THAT(keep.remove_configs, IsEmpty());
  auto prune = plan_deploy(parse(smaller), kData, swarm, true);
  EXPECT_THAT(names(prune.remove_services), ElementsAre("shop_api"));
  EXPECT_THAT(names(prune.remove_configs), ElementsAre("shop_settings"));
  EXPECT_THAT(prune.remove_networks, IsEmpty());
}

TEST(PlannerTest, ChangedConfigDataIsAnError) {
  auto swarm = apply(plan_deploy(parse(kFile), kData, {}, false), {}, kData);
  auto plan = plan_deploy(parse(kFile), {{"shop_settings", "other"}}, swarm, false);
  EXPECT_THAT(plan.errors,
              ElementsAre("config \"shop_settings\" exists with other data: configs cannot be "
                          "changed (give it a new name, or remove the stack first)"));
}

TEST(PlannerTest, ObjectsOfAnotherOwnerAreNotTaken) {
  SwarmObjects swarm;
  api::Service foreign;
  foreign.set_id("x");
  foreign.mutable_spec()->set_name("shop_web");
  swarm.services.push_back(foreign);
  api::Network network;
  network.set_id("n");
  network.set_name("shop_back");
  (*network.mutable_labels())[kNamespaceLabel] = "other";
  swarm.networks.push_back(network);
  auto plan = plan_deploy(parse(kFile), kData, swarm, false);
  EXPECT_THAT(plan.errors,
              ElementsAre("network \"shop_back\" exists and is not part of stack shop",
                          "service \"shop_web\" exists and is not part of stack shop"));
}

TEST(PlannerTest, ExternalObjectsMustExist) {
  auto spec = parse(R"(
services:
  web:
    command: x
    networks: [shared]
networks:
  shared:
    external: true
)");
  EXPECT_THAT(plan_deploy(spec, {}, {}, false).errors,
              ElementsAre("network \"shared\" is declared as external, but could not be found"));
  SwarmObjects swarm;
  api::Network shared;
  shared.set_name("shared");
  swarm.networks.push_back(shared);
  auto plan = plan_deploy(spec, {}, swarm, false);
  EXPECT_THAT(plan.errors, IsEmpty());
  EXPECT_THAT(plan.create_networks, IsEmpty());
}

TEST(PlannerTest, RemoveTakesOnlyTheStacksObjects) {
  auto swarm = apply(plan_deploy(parse(kFile), kData, {}, false), {}, kData);
  api::Service other;
  other.set_id("o");
  other.mutable_spec()->set_name("lonely");
  swarm.services.push_back(other);
  auto plan = plan_remove("shop", swarm);
  EXPECT_THAT(names(plan.remove_services), ElementsAre("shop_api", "shop_web"));
  EXPECT_THAT(names(plan.remove_configs), ElementsAre("shop_settings"));
  EXPECT_THAT(names(plan.remove_networks), ElementsAre("shop_back"));
  EXPECT_THAT(plan_remove("nothing", swarm).remove_services, IsEmpty());
}

TEST(PlannerTest, DigestIgnoresMapOrderButNotContent) {
  api::ServiceSpec a;
  a.set_name("s");
  (*a.mutable_labels())["x"] = "1";
  (*a.mutable_labels())["y"] = "2";
  api::ServiceSpec b;
  b.set_name("s");
  (*b.mutable_labels())["y"] = "2";
  (*b.mutable_labels())["x"] = "1";
  EXPECT_EQ(spec_digest(a), spec_digest(b));
  (*b.mutable_labels())["x"] = "3";
  EXPECT_NE(spec_digest(a), spec_digest(b));
}

}  // namespace
}  // namespace shoal::stack
