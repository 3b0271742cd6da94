// The daemon's parts that need no kernel and no network: object lookup, the cluster secrets,
// the CA service, the API conversions and what the dispatcher sends a node.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "control/api/convert.h"
#include "control/api/grpc_status.h"
#include "control/manager/ca/ca_service.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/control_api/lookup.h"
#include "control/manager/dispatcher/assignments.h"
#include "control/manager/loop/manager_runtime.h"
#include "control/manager/store/memory_store.h"
#include "control/pki/join_token.h"
#include "control/pki/node_files.h"
#include "tests/support/assertions.h"
#include "tests/support/fake_control_hooks.h"
#include "tests/support/wait.h"

namespace shoal::manager {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// ---- lookup ----

TEST(Lookup, FindsByIdNameAndUniquePrefix) {
  manager::MemoryStore store;
  auto service = [](std::string id, std::string name) {
    manager::Service s;
    s.id = std::move(id);
    s.spec.name = std::move(name);
    s.spec.command = {"/bin/true"};
    return s;
  };
  ASSERT_OK(store.update([&](manager::WriteTx& tx) -> Status {
    SHOAL_TRY(tx.create(service("abc123", "web")));
    SHOAL_TRY(tx.create(service("abd456", "api")));
    // Services named like another's id or id prefix: the exact id wins, then the name.
    SHOAL_TRY(tx.create(service("xyz789", "abc123")));
    return tx.create(service("fff000", "abd"));
  }));
  store.view([](const manager::ReadTx& tx) {
    EXPECT_EQ(find_service(tx, "abc123")->spec.name, "web");  // id before name
    EXPECT_EQ(find_service(tx, "web")->id, "abc123");
    EXPECT_EQ(find_service(tx, "api")->id, "abd456");
    EXPECT_EQ(find_service(tx, "abd")->id, "fff000");   // name before prefix
    EXPECT_EQ(find_service(tx, "abd4")->id, "abd456");  // unique prefix
    EXPECT_EQ(find_service(tx, "xy")->id, "xyz789");
    EXPECT_FALSE(find_service(tx, "ab"));  // ambiguous: abc123, abd456
    EXPECT_FALSE(find_service(tx, "zzz"));
    EXPECT_FALSE(find_service(tx, ""));
  });
}

TEST(Lookup, FindsNodesByHostnameAndNetworksByName) {
  manager::MemoryStore store;
  ASSERT_OK(store.update([&](manager::WriteTx& tx) -> Status {
    for (auto [id, host] : {std::pair{"n1aaaa", "h1"}, std::pair{"n2bbbb", "h2"}}) {
      manager::Node node;
      node.id = id;
      node.hostname = host;
      SHOAL_TRY(tx.create(node));
    }
    manager::Network network;
    network.id = "net111";
    network.name = "app";
    return tx.create(network);
  }));
  store.view([](const manager::ReadTx& tx) {
    EXPECT_EQ(find_node(tx, "h2")->id, "n2bbbb");
    EXPECT_EQ(find_node(tx, "n1")->hostname, "h1");
    EXPECT_FALSE(find_node(tx, "n"));  // ambiguous
    EXPECT_EQ(find_network(tx, "app")->id, "net111");
    EXPECT_EQ(find_network(tx, "net")->name, "app");
    EXPECT_FALSE(find_network(tx, "other"));
  });
}

// ---- cluster secrets ----

class ClusterSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shoal-secrets-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // What init does after creating the secrets: the node files, with the CA certificate.
  void save_node_files(const ClusterSecrets& secrets) {
    auto key = pki::make_key_and_csr();
    ASSERT_OK(key);
    auto cert = secrets.ca()->sign(
        key->csr_pem,
        {.node_id = "node1", .role = pki::NodeRole::kManager, .cluster_id = secrets.cluster_id()},
        {"198.51.100.11"});
    ASSERT_OK(cert);
    ASSERT_OK(pki::save_node_files(dir_, {.ca_cert_pem = secrets.ca()->cert_pem(),
                                          .node_cert_pem = *cert,
                                          .node_key_pem = key->key_pem}));
  }
  std::string dir_;
};

TEST_F(ClusterSecretsTest, CreateThenLoadRoundTrips) {
  auto created = ClusterSecrets::create(dir_, "cluster42");
  ASSERT_OK(created);
  save_node_files(**created);
  auto tokens = (*created)->tokens();
  EXPECT_NE(tokens.worker, tokens.manager);
  ASSERT_OK(pki::parse_join_token(tokens.worker));
  ASSERT_OK(pki::parse_join_token(tokens.manager));

  auto loaded = ClusterSecrets::load(dir_);
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->cluster_id(), "cluster42");
  EXPECT_EQ((*loaded)->tokens().worker, tokens.worker);
  EXPECT_EQ((*loaded)->tokens().manager, tokens.manager);
  EXPECT_EQ((*loaded)->ca()->cert_pem(), (*created)->ca()->cert_pem());

  // A rotation is saved: the next load sees the new token.
  ASSERT_OK((*loaded)->rotate(pki::NodeRole::kWorker));
  auto rotated = (*loaded)->tokens().worker;
  EXPECT_NE(rotated, tokens.worker);
  EXPECT_EQ((*loaded)->tokens().manager, tokens.manager);
  auto again = ClusterSecrets::load(dir_);
  ASSERT_OK(again);
  EXPECT_EQ((*again)->tokens().worker, rotated);
}

TEST_F(ClusterSecretsTest, GossipKeysAreMadeKeptRotatedAndCarriedToOtherManagers) {
  auto created = ClusterSecrets::create(dir_, "c");
  ASSERT_OK(created);
  save_node_files(**created);
  auto first = (*created)->gossip_keys();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_OK((*created)->rotate_gossip_key(first.front().created + 1));
  ASSERT_EQ((*created)->gossip_keys().size(), 2u);

  auto loaded = ClusterSecrets::load(dir_);
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->gossip_keys(), (*created)->gossip_keys());
  // A manager that comes to lead adopts them with the rest (etcd carries to_json()).
  char other[] = "/tmp/shoal-secrets-XXXXXX";
  ASSERT_NE(::mkdtemp(other), nullptr);
  auto adopted = ClusterSecrets::adopt(other, (*created)->to_json());
  fs::remove_all(other);
  ASSERT_OK(adopted);
  EXPECT_EQ((*adopted)->gossip_keys(), (*created)->gossip_keys());
}

TEST_F(ClusterSecretsTest, ASecretsFileFromBeforeGossipKeysGetsOneOnLoad) {
  auto created = ClusterSecrets::create(dir_, "c");
  ASSERT_OK(created);
  save_node_files(**created);
  auto tokens = (*created)->tokens();
  {
    std::ofstream out(dir_ + "/manager/cluster.json", std::ios::trunc);
    out << nlohmann::json{{"cluster_id", "c"},
                          {"worker_token", tokens.worker},
                          {"manager_token", tokens.manager}}
               .dump();
  }
  auto loaded = ClusterSecrets::load(dir_);
  ASSERT_OK(loaded);
  ASSERT_EQ((*loaded)->gossip_keys().size(), 1u);
  auto again = ClusterSecrets::load(dir_);  // and it was saved: the same key next time
  ASSERT_OK(again);
  EXPECT_EQ((*again)->gossip_keys(), (*loaded)->gossip_keys());
}

TEST_F(ClusterSecretsTest, ARootRotationSignsWithTheNewRootThenMakesItTheRoot) {
  auto created = ClusterSecrets::create(dir_, "c");
  ASSERT_OK(created);
  save_node_files(**created);
  auto& secrets = **created;
  const auto old_root = secrets.ca()->cert_pem();
  const auto old_tokens = secrets.tokens();
  auto key = pki::make_key_and_csr();
  ASSERT_OK(key);
  const pki::NodeIdentity who{"n1", pki::NodeRole::kWorker, "c"};
  auto before = secrets.sign(key->csr_pem, who, {});
  ASSERT_OK(before);
  EXPECT_EQ(before->issuer, secrets.ca()->fingerprint());
  EXPECT_EQ(secrets.trust_bundle_pem(), old_root);

  ASSERT_OK(secrets.start_root_rotation());
  auto rotation = secrets.rotation();
  ASSERT_TRUE(rotation.has_value());
  const auto new_root = rotation->next->cert_pem();
  EXPECT_EQ(secrets.trust_bundle_pem(), old_root + new_root);
  auto during = secrets.sign(key->csr_pem, who, {});
  ASSERT_OK(during);
  EXPECT_EQ(during->issuer, rotation->next->fingerprint());
  EXPECT_TRUE(pki::signed_directly_by(during->chain_pem, new_root));
  // A node still trusting only the old root verifies it (the chain carries the cross-signed
  // new root), as does one trusting only the new root.
  EXPECT_TRUE(pki::verify_issued_by(during->chain_pem, old_root).ok());
  EXPECT_TRUE(pki::verify_issued_by(during->chain_pem, new_root).ok());
  // A restart and another manager keep the rotation.
  auto loaded = ClusterSecrets::load(dir_);
  ASSERT_OK(loaded);
  ASSERT_TRUE((*loaded)->rotation().has_value());
  EXPECT_EQ((*loaded)->rotation()->next->cert_pem(), new_root);
  char other[] = "/tmp/shoal-secrets-XXXXXX";
  ASSERT_NE(::mkdtemp(other), nullptr);
  auto adopted = ClusterSecrets::adopt(other, secrets.to_json());
  fs::remove_all(other);
  ASSERT_OK(adopted);
  EXPECT_EQ((*adopted)->trust_bundle_pem(), old_root + new_root);

  ASSERT_OK(secrets.finish_root_rotation());
  EXPECT_FALSE(secrets.rotation().has_value());
  EXPECT_EQ(secrets.ca()->cert_pem(), new_root);
  EXPECT_EQ(secrets.trust_bundle_pem(), new_root);
  EXPECT_NE(secrets.tokens().worker, old_tokens.worker);
  EXPECT_FALSE(secrets.role_for(old_tokens.worker).ok());
  EXPECT_EQ(*secrets.role_for(secrets.tokens().manager), pki::NodeRole::kManager);
  auto after = secrets.sign(key->csr_pem, who, {});
  ASSERT_OK(after);
  EXPECT_FALSE(pki::verify_issued_by(after->chain_pem, old_root).ok());
  EXPECT_FALSE(secrets.finish_root_rotation().ok()) << "no rotation is under way";
  // Saved: the new root (and its key) is what a restart loads.
  auto reloaded = ClusterSecrets::load(dir_);
  ASSERT_OK(reloaded);
  EXPECT_EQ((*reloaded)->ca()->cert_pem(), new_root);
  EXPECT_FALSE((*reloaded)->rotation().has_value());
  auto key_file = pki::load_ca_key(dir_);
  ASSERT_OK(key_file);
  EXPECT_EQ(*key_file, secrets.ca()->key_pem());
}

TEST_F(ClusterSecretsTest, AHalfWrittenRotationIsRefusedNamingIt) {
  auto created = ClusterSecrets::create(dir_, "c");
  ASSERT_OK(created);
  auto json = nlohmann::json::parse((*created)->to_json());
  json["next_ca_cert"] = (*created)->ca()->cert_pem();  // no key, no cross-signed certificate
  auto adopted = ClusterSecrets::adopt(dir_ + "-other", json.dump());
  fs::remove_all(dir_ + "-other");
  ASSERT_FALSE(adopted.ok());
  EXPECT_THAT(adopted.error().message(), HasSubstr("rotation"));
}

TEST_F(ClusterSecretsTest, LoadWithoutFilesFails) {
  EXPECT_FALSE(ClusterSecrets::load(dir_).ok());
  auto created = ClusterSecrets::create(dir_, "c");
  ASSERT_OK(created);
  save_node_files(**created);
  {
    std::ofstream out(dir_ + "/manager/cluster.json", std::ios::trunc);
    out << "not json";
  }
  auto loaded = ClusterSecrets::load(dir_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message(), HasSubstr("cluster"));
}

TEST_F(ClusterSecretsTest, RoleForTellsWorkerManagerRotatedAndForeignTokens) {
  auto created = ClusterSecrets::create(dir_, "c1");
  ASSERT_OK(created);
  auto& secrets = **created;
  auto tokens = secrets.tokens();

  auto worker = secrets.role_for(tokens.worker);
  ASSERT_OK(worker);
  EXPECT_EQ(*worker, pki::NodeRole::kWorker);
  auto manager = secrets.role_for(tokens.manager);
  ASSERT_OK(manager);
  EXPECT_EQ(*manager, pki::NodeRole::kManager);

  // Rotated: the old worker token no longer grants anything; the manager one still does.
  ASSERT_OK(secrets.rotate(pki::NodeRole::kWorker));
  auto old = secrets.role_for(tokens.worker);
  ASSERT_FALSE(old.ok());
  EXPECT_THAT(old.error().message(), HasSubstr("not valid"));
  EXPECT_EQ(old.error().message().find(pki::parse_join_token(tokens.worker)->secret),
            std::string::npos)
      << "never echoes the secret";
  ASSERT_OK(secrets.role_for(secrets.tokens().worker));
  ASSERT_OK(secrets.role_for(tokens.manager));

  // A secret changed by one character.
  std::string changed = secrets.tokens().worker;
  changed.back() = changed.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(secrets.role_for(changed).ok());

  // Another swarm's token (another CA): refused for its digest even with our secret.
  auto other_dir = dir_ + "/other";
  auto foreign = ClusterSecrets::create(other_dir, "c2");
  ASSERT_OK(foreign);
  auto foreign_token = pki::parse_join_token((*foreign)->tokens().worker);
  ASSERT_OK(foreign_token);
  auto ours = pki::parse_join_token(secrets.tokens().worker);
  ASSERT_OK(ours);
  std::string forged = "SWMTKN-1-" + foreign_token->ca_digest + "-" + ours->secret;
  auto refused = secrets.role_for(forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message(), HasSubstr("different swarm"));

  // Not a token at all.
  EXPECT_FALSE(secrets.role_for("").ok());
  EXPECT_FALSE(secrets.role_for("SWMTKN-1-abc").ok());
}

// ---- joining ----

class CaServiceTest : public ClusterSecretsTest {};

TEST_F(CaServiceTest, TokensRegisterWorkersAndManagersAFailedManagerJoinLeavesNoNode) {
  std::shared_ptr<ClusterSecrets> secrets(ClusterSecrets::create(dir_, "c1").value());
  auto manager = ManagerRuntime::start(ManagerOptions{});
  ASSERT_OK(manager);
  std::shared_ptr<ManagerRuntime> runtime(std::move(*manager));
  shoal::testing::FakeControlHooks hooks;
  auto context = std::make_shared<ManagerContext>();
  context->manager = runtime.get();
  context->runtime = runtime;
  context->secrets = secrets;
  context->hooks = &hooks;

  std::shared_ptr<const ManagerContext> source = context;
  CaService ca([&] { return source; }, secrets->ca()->cert_pem());
  auto nodes = [&] {
    std::vector<manager::Node> all;
    runtime->store().view([&](const manager::ReadTx& tx) { all = tx.nodes(); });
    return all;
  };
  auto key = pki::make_key_and_csr();
  ASSERT_OK(key);
  api::IssueNodeCertificateRequest request;
  request.set_csr_pem(key->csr_pem);
  request.set_hostname("h2");
  request.set_addr("198.51.100.12");
  auto issue = [&](const std::string& token, api::IssueNodeCertificateResponse& response) {
    request.set_token(token);
    return ca.join("198.51.100.12", false, request, response);  // as from the node's address
  };

  // A manager the store cannot take: refused with its reason, and no node is left behind.
  hooks.manager_refusal = "unhealthy cluster";
  api::IssueNodeCertificateResponse response;
  auto refused = issue(secrets->tokens().manager, response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.error_message(), HasSubstr("unhealthy cluster"));
  EXPECT_TRUE(nodes().empty());

  hooks.manager_refusal.clear();
  auto welcomed = issue(secrets->tokens().manager, response);
  ASSERT_TRUE(welcomed.ok()) << welcomed.error_message();
  EXPECT_EQ(response.role(), "manager");
  EXPECT_EQ(response.etcd_initial_cluster(), response.node_id() + "=https://198.51.100.12:2380");
  EXPECT_EQ(response.default_addr_pool(), "10.0.0.0/8");
  EXPECT_EQ(response.heartbeat_ms(), 5000u);

  api::IssueNodeCertificateResponse worker;
  auto status = issue(secrets->tokens().worker, worker);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(worker.role(), "worker");
  EXPECT_TRUE(worker.etcd_initial_cluster().empty());
  ASSERT_OK(pki::verify_issued_by(worker.cert_pem(), secrets->ca()->cert_pem()));
  auto who = pki::identity_of(worker.cert_pem());
  ASSERT_OK(who);
  EXPECT_EQ(who->node_id, worker.node_id());
  EXPECT_EQ(who->role, pki::NodeRole::kWorker);
  std::map<std::string, manager::NodeRole> roles;
  for (const auto& node : nodes()) {
    EXPECT_EQ(node.hostname, "h2");
    EXPECT_EQ(node.addr.str(), "198.51.100.12");
    roles[node.id] = node.role;
  }
  EXPECT_EQ(roles, (std::map<std::string, manager::NodeRole>{
                       {response.node_id(), manager::NodeRole::kManager},
                       {worker.node_id(), manager::NodeRole::kWorker}}));

  // A manager that does not lead and knows no leader: the join fails at once, saying why.
  source = std::make_shared<ManagerContext>();
  api::IssueNodeCertificateResponse none;
  auto no_leader = issue(secrets->tokens().worker, none);
  EXPECT_EQ(no_leader.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(no_leader.error_message(), HasSubstr("no quorum"));
}

// ---- conversions ----

TEST(Convert, ServiceSpecRoundTrips) {
  manager::ServiceSpec spec;
  spec.name = "web";
  spec.command = {"/bin/sh", "-c"};
  spec.args = {"exec sleep 1000"};
  spec.env = {"A=1", "B=two"};
  spec.replicas = 4;
  spec.networks = {"net1", "net2"};
  spec.network_aliases = {{"net2", {"backend", "api"}}};
  spec.ports = {{.published = 8080, .target = 80},
                {.published = 0,
                 .target = 53,
                 .protocol = manager::Protocol::kUdp,
                 .mode = manager::PublishMode::kHost}};
  spec.constraints = {"node.role==worker"};
  spec.restart = {.condition = manager::RestartCondition::kOnFailure,
                  .delay = std::chrono::milliseconds(1500),
                  .max_attempts = 3};
  spec.stop_grace_period = std::chrono::milliseconds(2500);
  spec.max_replicas_per_node = 2;

  api::ServiceSpec wire;
  api::to_proto(spec, wire);
  EXPECT_EQ(wire.mode(), "replicated");
  EXPECT_EQ(wire.restart().condition(), "on-failure");
  auto back = api::from_proto(wire);
  ASSERT_OK(back);
  EXPECT_EQ(back->name, spec.name);
  EXPECT_EQ(back->command, spec.command);
  EXPECT_EQ(back->args, spec.args);
  EXPECT_EQ(back->env, spec.env);
  EXPECT_FALSE(back->global);
  EXPECT_EQ(back->replicas, 4u);
  EXPECT_EQ(back->networks, spec.networks);
  EXPECT_EQ(back->network_aliases, spec.network_aliases);
  EXPECT_EQ(back->ports, spec.ports);
  EXPECT_EQ(back->constraints, spec.constraints);
  EXPECT_EQ(back->restart.condition, manager::RestartCondition::kOnFailure);
  EXPECT_EQ(back->restart.delay, std::chrono::milliseconds(1500));
  EXPECT_EQ(back->restart.max_attempts, 3u);
  EXPECT_EQ(back->stop_grace_period, std::chrono::milliseconds(2500));
  EXPECT_EQ(back->max_replicas_per_node, 2u);
}

TEST(Convert, GlobalModeAndDefaults) {
  manager::ServiceSpec spec;
  spec.name = "agent";
  spec.command = {"/bin/true"};
  spec.global = true;
  api::ServiceSpec wire;
  api::to_proto(spec, wire);
  EXPECT_EQ(wire.mode(), "global");
  EXPECT_EQ(wire.replicas(), 0u);
  auto back = api::from_proto(wire);
  ASSERT_OK(back);
  EXPECT_TRUE(back->global);

  // An empty wire spec takes the defaults: replicated, vip, restart any, 10 s grace.
  api::ServiceSpec empty;
  auto defaults = api::from_proto(empty);
  ASSERT_OK(defaults);
  EXPECT_FALSE(defaults->global);
  EXPECT_EQ(defaults->endpoint_mode, manager::EndpointMode::kVip);
  EXPECT_EQ(defaults->restart.condition, manager::RestartCondition::kAny);
  EXPECT_EQ(defaults->stop_grace_period, std::chrono::seconds(10));
}

TEST(Convert, BadWordsAndPortsAreNamed) {
  auto fails_with = [](const api::ServiceSpec& wire, const std::string& word) {
    auto converted = api::from_proto(wire);
    ASSERT_FALSE(converted.ok()) << word;
    EXPECT_THAT(converted.error().message(), HasSubstr(word));
  };
  api::ServiceSpec wire;
  wire.set_name("web");
  wire.set_mode("both");
  fails_with(wire, "both");
  wire.set_mode("replicated");
  wire.set_endpoint_mode("round");
  fails_with(wire, "round");
  wire.clear_endpoint_mode();
  wire.mutable_restart()->set_condition("sometimes");
  fails_with(wire, "sometimes");
  wire.clear_restart();
  auto* port = wire.add_ports();
  port->set_published(70000);
  port->set_target(80);
  fails_with(wire, "70000");
  port->set_published(80);
  port->set_target(0);
  fails_with(wire, "target");
  port->set_target(80);
  port->set_protocol("icmp");
  fails_with(wire, "icmp");
  port->set_protocol("tcp");
  port->set_mode("bridge");
  fails_with(wire, "bridge");
  port->set_mode("host");
  ASSERT_TRUE(api::from_proto(wire).ok());
}

TEST(Convert, NetworkAndTaskRoundTrip) {
  manager::Network network;
  network.id = "net1";
  network.name = "app";
  network.vni = 4097;
  network.subnet = *Ipv4Prefix::parse("10.0.1.0/24");
  network.gateway = *Ipv4::parse("10.0.1.1");
  network.attachable = true;
  api::Network wire;
  api::to_proto(network, wire);
  auto back = api::network_from_proto(wire);
  ASSERT_OK(back);
  EXPECT_EQ(back->id, "net1");
  EXPECT_EQ(back->name, "app");
  EXPECT_EQ(back->vni, 4097u);
  EXPECT_EQ(back->subnet->str(), "10.0.1.0/24");
  EXPECT_EQ(back->gateway->str(), "10.0.1.1");
  EXPECT_TRUE(back->attachable);
  EXPECT_FALSE(back->ingress);
  wire.set_subnet("garbage");
  EXPECT_FALSE(api::network_from_proto(wire).ok());

  manager::Task task;
  task.id = "task1";
  task.service_id = "svc1";
  task.slot = 2;
  task.node_id = "node1";
  task.desired = manager::TaskState::kRunning;
  task.observed = manager::TaskState::kStarting;
  task.addresses["net1"] = *Ipv4Prefix::parse("10.0.1.5/24");
  task.runtime.command = {"/bin/sh"};
  task.runtime.args = {"-c", "echo hi"};
  task.runtime.env = {"X=1"};
  task.runtime.stop_grace_period = std::chrono::milliseconds(3000);
  task.runtime.network_aliases = {{"net1", {"backend"}}};
  api::Task wire_task;
  api::to_proto(task, "web", wire_task);
  EXPECT_EQ(wire_task.service_name(), "web");
  EXPECT_EQ(wire_task.state(), "starting");
  auto assignment = api::assignment_from_proto(wire_task);
  ASSERT_OK(assignment);
  EXPECT_EQ(assignment->id, "task1");
  EXPECT_EQ(assignment->service_id, "svc1");
  EXPECT_EQ(assignment->service_name, "web");
  EXPECT_EQ(assignment->slot, 2u);
  EXPECT_EQ(assignment->desired, manager::TaskState::kRunning);
  EXPECT_EQ(assignment->runtime, task.runtime);
  ASSERT_EQ(assignment->addresses.size(), 1u);
  EXPECT_EQ(assignment->addresses.at("net1").str(), "10.0.1.5/24");

  wire_task.set_desired_state("flying");
  EXPECT_FALSE(api::assignment_from_proto(wire_task).ok());
  wire_task.set_desired_state("running");
  wire_task.mutable_addresses(0)->set_addr("10.0.1.500/24");
  EXPECT_FALSE(api::assignment_from_proto(wire_task).ok());
}

// ---- what a node is sent (the dispatcher's assignments) ----

class NodeAssignmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(store_.update([](manager::WriteTx& tx) -> Status {
      for (const char* id : {"n1", "n2"}) {
        manager::Node node;
        node.id = id;
        node.hostname = id;
        node.status = manager::NodeStatus::kReady;
        SHOAL_TRY(tx.create(node));
      }
      manager::Config secret;
      secret.id = "cfgX";
      secret.name = "x";
      secret.data = "data of X";
      SHOAL_TRY(tx.create(secret));
      manager::Config other;
      other.id = "cfgY";
      other.name = "y";
      other.data = "data of Y";
      SHOAL_TRY(tx.create(other));
      manager::Service service;
      service.id = "svc";
      service.spec.name = "uses-x";
      service.spec.command = {"/bin/true"};
      service.spec.configs = {{.config_id = "cfgX", .config_name = "x", .target = "/x"}};
      return tx.create(service);
    }));
    ASSERT_OK(assign("t1", "n1"));
  }

  // A task of the service using X, given to `node` (ASSIGNED: the dispatcher sends it).
  Status assign(const std::string& id, const std::string& node) {
    return store_.update([&](manager::WriteTx& tx) -> Status {
      auto service = tx.get_service("svc");
      manager::Task task;
      task.id = id;
      task.service_id = "svc";
      task.slot = 1;
      task.node_id = node;
      task.runtime = manager::runtime_of(service->spec);
      SHOAL_TRY(manager::advance(task, manager::TaskState::kAssigned));
      return tx.create(task);
    });
  }

  std::map<std::string, std::string> configs_sent_to(const std::string& node) {
    std::map<std::string, std::string> out;
    store_.view([&](const manager::ReadTx& tx) {
      const api::Assignments sent = node_assignments(tx, node, 7946);
      for (const auto& file : sent.configs())
        out[file.config_id()] = file.data();
    });
    return out;
  }

  manager::MemoryStore store_;
};

TEST_F(NodeAssignmentsTest, ANodeWithoutATaskUsingAConfigNeverReceivesItsData) {
  EXPECT_EQ(configs_sent_to("n1"), (std::map<std::string, std::string>{{"cfgX", "data of X"}}));
  EXPECT_TRUE(configs_sent_to("n2").empty());
  // Y, which no task uses, goes nowhere; neither does X once the task has ended.
  ASSERT_OK(store_.update([](manager::WriteTx& tx) -> Status {
    auto task = tx.get_task("t1");
    SHOAL_TRY(manager::advance(*task, manager::TaskState::kFailed));
    return tx.update(*task);
  }));
  EXPECT_TRUE(configs_sent_to("n1").empty());
}

TEST_F(NodeAssignmentsTest, ANodeReceivesAConfigOnceATaskUsingItIsAssignedToIt) {
  ASSERT_TRUE(configs_sent_to("n2").empty());
  ASSERT_OK(assign("t2", "n2"));
  EXPECT_EQ(configs_sent_to("n2"), (std::map<std::string, std::string>{{"cfgX", "data of X"}}));
  api::Assignments sent;
  store_.view([&](const manager::ReadTx& tx) { sent = node_assignments(tx, "n2", 7946); });
  ASSERT_EQ(sent.tasks_size(), 1);
  EXPECT_EQ(sent.tasks(0).id(), "t2");
  EXPECT_EQ(sent.tasks(0).configs(0).config_id(), "cfgX");
}

TEST_F(NodeAssignmentsTest, NodesLearnTheirRoleAndTheManagersLeaderFirst) {
  ASSERT_OK(store_.update([](manager::WriteTx& tx) -> Status {
    for (const char* id : {"n1", "n2"}) {
      auto node = tx.get_node(id);
      node->role = manager::NodeRole::kManager;
      node->addr = *Ipv4::parse(std::string("198.51.100.1") + id[1]);
      SHOAL_TRY(tx.update(*node));
    }
    manager::Node worker;
    worker.id = "w3";
    worker.addr = *Ipv4::parse("198.51.100.13");
    return tx.create(worker);
  }));
  store_.view([&](const manager::ReadTx& tx) {
    EXPECT_EQ(manager_addresses(tx, "n2", 2377),
              (std::vector<std::string>{"198.51.100.12:2377", "198.51.100.11:2377"}));
    EXPECT_EQ(node_assignments(tx, "n1", 7946).role(), "manager");
    EXPECT_EQ(node_assignments(tx, "w3", 7946).role(), "worker");
    // Every node with its address, itself and nodes that are not ready included: gossiped rows
    // are trusted only from these, and an overlay peer only at its owner's address.
    std::map<std::string, std::string> nodes;
    const auto sent = node_assignments(tx, "w3", 7946);
    for (const auto& node : sent.nodes())
      nodes[node.id()] = node.addr();
    EXPECT_EQ(nodes,
              (std::map<std::string, std::string>{
                  {"n1", "198.51.100.11"}, {"n2", "198.51.100.12"}, {"w3", "198.51.100.13"}}));
  });
}

}  // namespace
}  // namespace shoal::manager
