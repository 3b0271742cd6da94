#include "control/stack/compose.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

namespace shoal::stack {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ComposeResult parse(const std::string& yaml, const std::string& base_dir = "/srv/app") {
  ComposeOptions options;
  options.stack_name = "shop";
  options.base_dir = base_dir;
  options.lookup_env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "FROM_SHELL")
      return "shell-value";
    return std::nullopt;
  };
  return parse_compose(yaml, options);
}

// The one error of a file that should have exactly one.
std::string only_error(const std::string& yaml) {
  auto result = parse(yaml);
  EXPECT_FALSE(result.spec.has_value());
  EXPECT_EQ(result.errors.size(), 1u) << ::testing::PrintToString(result.errors);
  return result.errors.empty() ? "" : result.errors.front();
}

std::vector<std::string> strings(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return {r.begin(), r.end()};
}

const char* kFull = R"(
version: "3.8"
services:
  web:
    image: nginx
    command: ["python3", "-m", "http.server", "8000"]
    environment:
      - MODE=prod
      - FROM_SHELL
      - NOT_SET
    networks: [front, back]
    ports:
      - "8080:8000"
      - "53/udp"
      - target: 9000
        published: 9090
        protocol: tcp
        mode: host
    configs:
      - site
      - source: site
        target: /etc/web/site.conf
        mode: 0440
    stop_grace_period: 3s
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: dnsrr
      labels: {tier: front}
      placement:
        constraints: ["node.labels.zone==east"]
        preferences:
          - spread: node.labels.rack
        max_replicas_per_node: 2
      update_config:
        parallelism: 2
        delay: 10s
        failure_action: rollback
        monitor: 30s
        max_failure_ratio: 0.25
        order: start-first
      rollback_config:
        parallelism: 0
        order: stop-first
      restart_policy:
        condition: on-failure
        delay: 2s
        max_attempts: 4
  worker:
    entrypoint: /bin/sh -c
    command: "'echo hello; sleep 100'"
    environment:
      LEVEL: 3
      EMPTY:
    deploy:
      mode: global
networks:
  front:
    driver: overlay
    attachable: true
    ipam:
      config:
        - subnet: 10.20.0.0/24
  back:
  unused:
configs:
  site:
    file: ./site.conf
x-common: &common
  anything: goes
)";

TEST(ComposeTest, FullFileMapsEveryKey) {
  auto result = parse(kFull);
  ASSERT_THAT(result.errors, IsEmpty());
  ASSERT_TRUE(result.spec.has_value());
  const StackSpec& stack = *result.spec;
  EXPECT_EQ(stack.name, "shop");
  ASSERT_EQ(stack.services.size(), 2u);

  const auto& web = stack.services[0].spec;
  EXPECT_EQ(web.name(), "shop_web");
  EXPECT_THAT(strings(web.command()), ElementsAre("python3"));
  EXPECT_THAT(strings(web.args()), ElementsAre("-m", "http.server", "8000"));
  EXPECT_THAT(strings(web.env()), ElementsAre("MODE=prod", "FROM_SHELL=shell-value"));
  EXPECT_THAT(strings(web.networks()), ElementsAre("shop_front", "shop_back"));
  ASSERT_EQ(web.ports_size(), 3);
  EXPECT_EQ(web.ports(0).published(), 8080u);
  EXPECT_EQ(web.ports(0).target(), 8000u);
  EXPECT_EQ(web.ports(0).protocol(), "tcp");
  EXPECT_EQ(web.ports(1).published(), 0u);
  EXPECT_EQ(web.ports(1).target(), 53u);
  EXPECT_EQ(web.ports(1).protocol(), "udp");
  EXPECT_EQ(web.ports(2).published(), 9090u);
  EXPECT_EQ(web.ports(2).mode(), "host");
  ASSERT_EQ(web.configs_size(), 2);
  EXPECT_EQ(web.configs(0).config_name(), "shop_site");
  EXPECT_EQ(web.configs(0).target(), "/site");
  EXPECT_EQ(web.configs(0).mode(), 0u);  // the manager's default, 0444
  EXPECT_EQ(web.configs(1).target(), "/etc/web/site.conf");
  EXPECT_EQ(web.configs(1).mode(), 0440u);
  EXPECT_EQ(web.stop_grace_ms(), 3000u);
  EXPECT_EQ(web.mode(), "replicated");
  EXPECT_EQ(web.replicas(), 3u);
  EXPECT_EQ(web.endpoint_mode(), "dnsrr");
  EXPECT_EQ(web.labels().at("tier"), "front");
  EXPECT_EQ(web.labels().at(kNamespaceLabel), "shop");
  EXPECT_THAT(strings(web.constraints()), ElementsAre("node.labels.zone==east"));
  EXPECT_THAT(strings(web.placement_prefs()), ElementsAre("spread=node.labels.rack"));
  EXPECT_EQ(web.max_replicas_per_node(), 2u);
  EXPECT_EQ(web.update_config().parallelism(), 2u);
  EXPECT_EQ(web.update_config().delay_ms(), 10000u);
  EXPECT_EQ(web.update_config().failure_action(), "rollback");
  EXPECT_EQ(web.update_config().monitor_ms(), 30000u);
  EXPECT_DOUBLE_EQ(web.update_config().max_failure_ratio(), 0.25);
  EXPECT_EQ(web.update_config().order(), "start-first");
  EXPECT_TRUE(web.has_rollback_config());
  EXPECT_EQ(web.rollback_config().parallelism(), 0u);
  EXPECT_EQ(web.restart().condition(), "on-failure");
  EXPECT_EQ(web.restart().delay_ms(), 2000u);
  EXPECT_EQ(web.restart().max_attempts(), 4u);

  const auto& worker = stack.services[1].spec;
  EXPECT_THAT(strings(worker.command()), ElementsAre("/bin/sh"));
  EXPECT_THAT(strings(worker.args()), ElementsAre("-c", "echo hello; sleep 100"));
  EXPECT_THAT(strings(worker.env()), ElementsAre("LEVEL=3"));  // EMPTY: unset here
  EXPECT_EQ(worker.mode(), "global");
  EXPECT_THAT(strings(worker.networks()), ElementsAre("shop_default"));

  // Networks the services use, the default one made for worker; `unused` is not created.
  ASSERT_EQ(stack.networks.size(), 3u);
  std::map<std::string, StackNetwork> networks;
  for (const auto& n : stack.networks)
    networks[n.name] = n;
  EXPECT_TRUE(networks.at("shop_front").attachable);
  EXPECT_EQ(networks.at("shop_front").subnet, "10.20.0.0/24");
  EXPECT_EQ(networks.at("shop_back").subnet, "");
  EXPECT_EQ(networks.at("shop_default").labels.at(kNamespaceLabel), "shop");
  ASSERT_EQ(stack.configs.size(), 1u);
  EXPECT_EQ(stack.configs[0].name, "shop_site");
  EXPECT_EQ(stack.configs[0].file, "/srv/app/site.conf");
  EXPECT_EQ(stack.configs[0].labels.at(kNamespaceLabel), "shop");

  EXPECT_THAT(result.warnings,
              ElementsAre("services.web.image: ignored: Shoal runs \"python3 -m http.server "
                          "8000\" on the host",
                          "networks.unused: not used by any service: not created"));
}

std::map<std::string, std::vector<std::string>> aliases(const api::ServiceSpec& spec) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& entry : spec.network_aliases())
    out[entry.network()] = {entry.aliases().begin(), entry.aliases().end()};
  return out;
}

TEST(ComposeTest, EveryServiceIsAliasedByItsShortNameOnEachOfItsNetworks) {
  auto result = parse(R"(
services:
  backend:
    command: serve
    networks:
      front:
      back:
        aliases: [api, backend, db-proxy]
  frontend:
    command: call backend
  outside:
    command: x
    networks: [shared]
networks:
  front:
  back:
  shared:
    external: true
)");
  ASSERT_THAT(result.errors, IsEmpty());
  const auto& services = result.spec->services;
  ASSERT_EQ(services.size(), 3u);
  // The short name first on every network, then the file's own aliases (no duplicate).
  EXPECT_THAT(strings(services[0].spec.networks()), ElementsAre("shop_front", "shop_back"));
  EXPECT_EQ(aliases(services[0].spec),
            (std::map<std::string, std::vector<std::string>>{
                {"shop_front", {"backend"}}, {"shop_back", {"backend", "api", "db-proxy"}}}));
  EXPECT_EQ(aliases(services[1].spec),
            (std::map<std::string, std::vector<std::string>>{{"shop_default", {"frontend"}}}));
  // As docker does, on an external network too.
  EXPECT_EQ(aliases(services[2].spec),
            (std::map<std::string, std::vector<std::string>>{{"shared", {"outside"}}}));
}

TEST(ComposeTest, ExternalObjectsKeepTheirNames) {
  auto result = parse(R"(
version: "3"
services:
  api:
    command: sleep 1
    networks: [shared]
    configs: [cert]
networks:
  shared:
    external: true
configs:
  cert:
    external:
      name: global-cert
)");
  ASSERT_THAT(result.errors, IsEmpty());
  EXPECT_EQ(result.spec->networks.at(0).name, "shared");
  EXPECT_TRUE(result.spec->networks.at(0).external);
  EXPECT_EQ(result.spec->configs.at(0).name, "global-cert");
  EXPECT_EQ(result.spec->services.at(0).spec.configs(0).config_name(), "global-cert");
}

TEST(ComposeTest, SplitCommandFollowsShellQuoting) {
  EXPECT_THAT(*split_command(R"(sh -c "echo \"hi\" there" 'a b' c\ d)"),
              ElementsAre("sh", "-c", "echo \"hi\" there", "a b", "c d"));
  EXPECT_FALSE(split_command("echo 'open").has_value());
  EXPECT_THAT(*split_command("  "), IsEmpty());
}

struct InvalidCase {
  const char* name;
  const char* service;  // the body of services.web (indented by 4)
  const char* error;
};

// Each invalid service key with its message; the rest of the file is valid.
const InvalidCase kInvalidServices[] = {
    {"Build", "command: x\n    build: .",
     "services.web.build: not supported: Shoal runs commands, not images"},
    {"ImageAlone", "image: nginx",
     "services.web: image without a command: Shoal runs commands, not images (add command: or "
     "entrypoint:)"},
    {"NoCommand", "environment: [A=1]", "services.web: needs a command (command: or entrypoint:)"},
    {"Volumes", "command: x\n    volumes: [\"/data:/data\"]",
     "services.web.volumes: not supported: volumes are not supported yet"},
    {"Secrets", "command: x\n    secrets: [s]",
     "services.web.secrets: not supported: secrets are not supported yet; use configs"},
    {"ContainerLabels", "command: x\n    labels: {a: b}",
     "services.web.labels: not supported: tasks are not containers and have no labels; use "
     "deploy.labels"},
    {"UnknownKey", "command: x\n    colour: blue", "services.web.colour: unknown key"},
    {"UnterminatedQuote", "command: \"echo 'x\"", "services.web.command: unterminated quote"},
    {"CommandMap", "command: {a: b}",
     "services.web.command: expected a string or a list of strings"},
    {"PortRange", "command: x\n    ports: [\"8000-8010:80-90\"]",
     "services.web.ports[0]: \"8000-8010:80-90\": port ranges are not supported"},
    {"PortHostIp", "command: x\n    ports: [\"127.0.0.1:80:80\"]",
     "services.web.ports[0]: \"127.0.0.1:80:80\": a host address is not supported (the routing "
     "mesh publishes on every address)"},
    {"PortNumber", "command: x\n    ports: [\"70000\"]",
     "services.web.ports[0]: invalid port \"70000\": expected 1-65535"},
    {"PortProtocol", "command: x\n    ports: [\"80/icmp\"]",
     "services.web.ports[0]: \"80/icmp\": protocol must be tcp, udp or sctp"},
    {"LongPortNoTarget", "command: x\n    ports: [{published: 80}]",
     "services.web.ports[0].target: is required"},
    {"LongPortMode", "command: x\n    ports: [{target: 80, mode: bridge}]",
     "services.web.ports[0].mode: expected ingress or host"},
    {"NetworkAddress", "command: x\n    networks:\n      default:\n        ipv4_address: 10.0.0.5",
     "services.web.networks.default.ipv4_address: not supported"},
    {"NetworkAliasesNotAList", "command: x\n    networks:\n      default:\n        aliases: w",
     "services.web.networks.default.aliases: expected a list"},
    {"UndeclaredNetwork", "command: x\n    networks: [nowhere]",
     "services.web.networks: network \"nowhere\" is not declared in networks"},
    {"UndeclaredConfig", "command: x\n    configs: [nothing]",
     "services.web.configs[0]: config \"nothing\" is not declared in configs"},
    {"ConfigUid", "command: x\n    configs: [{source: c, uid: \"1000\"}]",
     "services.web.configs[0].uid: not supported: tasks run as root"},
    {"ConfigRelativeTarget", "command: x\n    configs: [{source: c, target: etc/c}]",
     "services.web.configs[0].target: must be an absolute path"},
    {"ConfigMode", "command: x\n    configs: [{source: c, mode: 0999}]",
     "services.web.configs[0].mode: expected an octal mode such as 0440"},
    {"ConfigNoSource", "command: x\n    configs: [{target: /c}]",
     "services.web.configs[0].source: is required"},
    {"DeployMode", "command: x\n    deploy: {mode: daemon}",
     "services.web.deploy.mode: expected replicated or global"},
    {"GlobalReplicas", "command: x\n    deploy: {mode: global, replicas: 2}",
     "services.web.deploy.replicas: replicas can only be used with replicated mode"},
    {"Replicas", "command: x\n    deploy: {replicas: many}",
     "services.web.deploy.replicas: expected a non-negative integer"},
    {"Resources", "command: x\n    deploy: {resources: {limits: {cpus: '1'}}}",
     "services.web.deploy.resources: not supported yet"},
    {"Constraint", "command: x\n    deploy: {placement: {constraints: [\"zone=east\"]}}",
     "services.web.deploy.placement.constraints: \"zone=east\": expected KEY==VALUE or KEY!=VALUE"},
    {"Preference", "command: x\n    deploy: {placement: {preferences: [{pack: x}]}}",
     "services.web.deploy.placement.preferences[0].pack: not supported: only spread preferences "
     "exist"},
    {"UpdateDelay", "command: x\n    deploy: {update_config: {delay: soon}}",
     "services.web.deploy.update_config.delay: expected a duration such as 10s, 1m30s or 500ms"},
    {"UpdateAction", "command: x\n    deploy: {update_config: {failure_action: panic}}",
     "services.web.deploy.update_config.failure_action: expected pause, continue or rollback"},
    {"RollbackOrder", "command: x\n    deploy: {rollback_config: {order: random}}",
     "services.web.deploy.rollback_config.order: expected stop-first or start-first"},
    {"FailureRatio", "command: x\n    deploy: {update_config: {max_failure_ratio: 2}}",
     "services.web.deploy.update_config.max_failure_ratio: expected a number from 0 to 1"},
    {"RestartCondition", "command: x\n    deploy: {restart_policy: {condition: always}}",
     "services.web.deploy.restart_policy.condition: expected none, on-failure or any"},
    {"RestartWindow", "command: x\n    deploy: {restart_policy: {window: 10s}}",
     "services.web.deploy.restart_policy.window: not supported yet"},
    {"EndpointMode", "command: x\n    deploy: {endpoint_mode: nat}",
     "services.web.deploy.endpoint_mode: expected vip or dnsrr"},
    {"EnvName", "command: x\n    environment: [\"=x\"]",
     "services.web.environment: \"=x\": empty variable name"},
};

class InvalidServiceTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidServiceTest, ReportsTheKeyPath) {
  const InvalidCase& c = GetParam();
  const std::string yaml = std::string("version: \"3.8\"\nservices:\n  web:\n    ") + c.service +
                           "\nconfigs:\n  c:\n    file: c.txt\n";
  EXPECT_EQ(only_error(yaml), c.error);
}

INSTANTIATE_TEST_SUITE_P(Keys, InvalidServiceTest, ::testing::ValuesIn(kInvalidServices),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(ComposeTest, TopLevelErrors) {
  EXPECT_EQ(only_error("version: \"2.4\"\nservices: {}\n"),
            "version: \"2.4\": only version 3 files are supported");
  EXPECT_EQ(only_error("version: \"3\"\n"), "services: is required");
  EXPECT_EQ(only_error("services: {}\nvolumes: {data: {}}\n"), "volumes: not supported yet");
  EXPECT_EQ(only_error("services: {}\nsecrets: {s: {file: x}}\n"), "secrets: not supported yet");
  EXPECT_EQ(only_error("services: {}\nextras: 1\n"), "extras: unknown key");
  EXPECT_EQ(only_error("- a\n- b\n"), "(top level): expected a mapping");
  EXPECT_EQ(only_error("services: [a]\n"), "services: expected a mapping");
  EXPECT_EQ(only_error("services:\n  web: {command: x\n"), "line 3: end of map flow not found");
}

TEST(ComposeTest, NetworkAndConfigErrors) {
  const std::string service = "services:\n  web:\n    command: x\n    networks: [n]\n";
  EXPECT_EQ(only_error(service + "networks:\n  n: {driver: bridge}\n"),
            "networks.n.driver: only overlay networks exist in a swarm");
  EXPECT_EQ(only_error(service + "networks:\n  n: {driver_opts: {a: b}}\n"),
            "networks.n.driver_opts: not supported");
  EXPECT_EQ(only_error(service + "networks:\n  n:\n    ipam:\n      config: [{subnet: "
                                 "10.1.0.0/24}, {subnet: 10.2.0.0/24}]\n"),
            "networks.n.ipam.config: expected a list of one subnet (a network has one IPv4 "
            "subnet)");
  EXPECT_EQ(only_error(service + "networks:\n  n:\n    ipam:\n      config: [{gateway: "
                                 "10.1.0.1}]\n"),
            "networks.n.ipam.config[0].gateway: not supported");
  EXPECT_EQ(only_error(service + "networks:\n  n: {attachable: maybe}\n"),
            "networks.n.attachable: expected true or false");
  const std::string uses_config = "services:\n  web:\n    command: x\n    configs: [c]\n";
  EXPECT_EQ(only_error(uses_config + "configs:\n  c: {}\n"),
            "configs.c: needs file: (or external: true)");
  EXPECT_EQ(only_error(uses_config + "configs:\n  c: {content: hi}\n"),
            "configs.c.content: not supported: use file:");
}

TEST(ComposeTest, EveryErrorIsReportedNotJustTheFirst) {
  auto result = parse("services:\n  a:\n    build: .\n  b:\n    command: x\n    volumes: [v]\n");
  EXPECT_FALSE(result.spec.has_value());
  EXPECT_THAT(result.errors,
              ElementsAre("services.a.build: not supported: Shoal runs commands, not images",
                          "services.a: needs a command (command: or entrypoint:)",
                          "services.b.volumes: not supported: volumes are not supported yet"));
}

TEST(ComposeTest, RelativeConfigFilesResolveAgainstTheComposeDirectory) {
  const std::string yaml =
      "services:\n  web:\n    command: x\n    configs: [a, b]\nconfigs:\n  a: {file: "
      "conf/a.txt}\n  b: {file: /abs/b.txt}\n";
  auto result = parse(yaml, "/home/me/proj");
  ASSERT_THAT(result.errors, IsEmpty());
  EXPECT_EQ(result.spec->configs[0].file, "/home/me/proj/conf/a.txt");
  EXPECT_EQ(result.spec->configs[1].file, "/abs/b.txt");
  EXPECT_EQ(parse(yaml, ".").spec->configs[0].file, "conf/a.txt");
}

// Repro G of the security review: nested anchors, ten aliases per level, under a service's
// labels. Depth 6 (a few hundred bytes) is a million nodes once expanded and took 1.7 s; depth
// 8 ran past 20 s. Refused by counting, before anything walks the tree.
std::string alias_bomb(int depth) {
  std::string yaml =
      "version: \"3.8\"\nx-l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", "
      "\"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n";
  for (int level = 1; level < depth; ++level) {
    const std::string below = "*l" + std::to_string(level - 1);
    yaml += "x-l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i)
      yaml += (i ? ", " : "") + below;
    yaml += "]\n";
  }
  return yaml + "services:\n  web:\n    command: \"true\"\n    labels: *l" +
         std::to_string(depth - 1) + "\n";
}

TEST(ComposeTest, AnAliasBombIsRefusedQuicklyWithTheLimitNamed) {
  for (int depth : {6, 8, 12}) {
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(only_error(alias_bomb(depth)),
              "the file expands to more than 100000 YAML nodes once its aliases are expanded "
              "(an alias bomb?)")
        << "depth " << depth;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500))
        << "depth " << depth;
  }
}

TEST(ComposeTest, AliasesWithinTheLimitsStillWork) {
  // Depth 4 is 10,000 nodes once expanded: accepted by the limit, then refused as labels for
  // what it is (a list of lists), which shows the parser walked it.
  auto result = parse(alias_bomb(4));
  EXPECT_FALSE(result.spec.has_value());
  ASSERT_FALSE(result.errors.empty());
  EXPECT_THAT(result.errors.front(), ::testing::StartsWith("services.web.labels"));
}

TEST(ComposeTest, NestingDeeperThanTheLimitIsRefused) {
  const std::string deep = std::string(80, '[') + "x" + std::string(80, ']');
  EXPECT_EQ(only_error("services:\n  web:\n    command: x\n    labels: " + deep + "\n"),
            "the file nests deeper than 64 levels once its aliases are expanded");
}

}  // namespace
}  // namespace shoal::stack
