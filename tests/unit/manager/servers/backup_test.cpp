// Swarm backups: the file's codec (round trip, each rejection), the objects a restore starts
// from, Control.Backup on an in-memory manager, and restored cluster secrets.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "control/api/grpc_status.h"
#include "control/manager/backup/backup.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/store/codec.h"
#include "control/pki/join_token.h"
#include "tests/support/assertions.h"
#include "tests/support/fake_control_hooks.h"

namespace shoal::manager {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

manager::Node node(const std::string& id, manager::NodeRole role) {
  manager::Node n;
  n.id = id;
  n.hostname = "host-" + id;
  n.role = role;
  n.status = manager::NodeStatus::kReady;
  n.addr = *Ipv4::parse("192.0.2.1");
  return n;
}

// One of every kind, with a config whose data is not text.
std::vector<manager::Object> sample_objects() {
  manager::Network network;
  network.id = "net1";
  network.name = "app";
  network.subnet = *Ipv4Prefix::parse("10.77.0.0/24");
  manager::Service service;
  service.id = "svc1";
  service.spec.name = "web";
  service.spec.replicas = 2;
  manager::Task task;
  task.id = "task1";
  task.service_id = "svc1";
  task.slot = 1;
  task.node_id = "worker1";
  manager::Config config;
  config.id = "cfg1";
  config.name = "greeting";
  config.data = std::string("hello\0\xff world", 13);
  return {node("manager1", manager::NodeRole::kManager),
          node("worker1", manager::NodeRole::kWorker),
          network,
          service,
          task,
          config};
}

class BackupCodec : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = pki::CertificateAuthority::create();
    ASSERT_OK(ca);
    auto other = pki::CertificateAuthority::create();
    ASSERT_OK(other);
    ca_.emplace(std::move(*ca));
    other_.emplace(std::move(*other));
  }
  static void TearDownTestSuite() {
    ca_.reset();
    other_.reset();
  }

  static Backup sample() {
    Backup b;
    b.secrets.ca_cert_pem = ca_->cert_pem();
    b.secrets.ca_key_pem = ca_->key_pem();
    b.secrets.cluster_id = "cluster42";
    b.secrets.tokens = {pki::make_join_token(*ca_), pki::make_join_token(*ca_)};
    b.secrets.manager_node_id = "manager1";
    b.secrets.default_addr_pool = "10.0.0.0/8";
    b.secrets.heartbeat_ms = 1000;
    b.created_at = std::chrono::system_clock::from_time_t(1714564800);  // 2024-05-01T12:00:00Z
    b.store_index = 17;
    b.objects = sample_objects();
    return b;
  }

  // The sample's file, changed by `edit`, decoded: the error's message.
  static std::string rejection(const std::function<void(json&)>& edit) {
    auto doc = json::parse(encode_backup(sample()));
    edit(doc);
    auto decoded = decode_backup(doc.dump());
    return decoded.ok() ? "(accepted)" : decoded.error().message();
  }

  static std::optional<pki::CertificateAuthority> ca_;
  static std::optional<pki::CertificateAuthority> other_;
};

std::optional<pki::CertificateAuthority> BackupCodec::ca_;
std::optional<pki::CertificateAuthority> BackupCodec::other_;

TEST_F(BackupCodec, RoundTripsEveryField) {
  auto original = sample();
  auto text = encode_backup(original);
  auto decoded = decode_backup(text);
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->secrets.ca_cert_pem, original.secrets.ca_cert_pem);
  EXPECT_EQ(decoded->secrets.ca_key_pem, original.secrets.ca_key_pem);
  EXPECT_EQ(decoded->secrets.cluster_id, "cluster42");
  EXPECT_EQ(decoded->secrets.tokens.worker, original.secrets.tokens.worker);
  EXPECT_EQ(decoded->secrets.tokens.manager, original.secrets.tokens.manager);
  EXPECT_EQ(decoded->secrets.manager_node_id, "manager1");
  EXPECT_EQ(decoded->secrets.default_addr_pool, "10.0.0.0/8");
  EXPECT_EQ(decoded->secrets.heartbeat_ms, 1000u);
  EXPECT_EQ(decoded->created_at, original.created_at);
  EXPECT_EQ(format_time(decoded->created_at), "2024-05-01T12:00:00Z");
  EXPECT_EQ(decoded->store_index, 17u);
  ASSERT_EQ(decoded->objects.size(), original.objects.size());
  for (size_t i = 0; i < original.objects.size(); ++i) {
    EXPECT_EQ(manager::encode(decoded->objects[i]), manager::encode(original.objects[i])) << i;
  }
  EXPECT_EQ(std::get<manager::Config>(decoded->objects[5]).data,
            std::get<manager::Config>(original.objects[5]).data);
  // Encoding is deterministic: the same backup, the same bytes.
  EXPECT_EQ(encode_backup(*decoded), text);
  auto counts = count_objects(decoded->objects);
  EXPECT_EQ(counts.nodes, 2u);
  EXPECT_EQ(counts.networks, 1u);
  EXPECT_EQ(counts.services, 1u);
  EXPECT_EQ(counts.tasks, 1u);
  EXPECT_EQ(counts.configs, 1u);
}

TEST_F(BackupCodec, RefusesWhatIsNotABackup) {
  EXPECT_THAT(decode_backup("").error().message(), HasSubstr("the file is empty"));
  auto text = encode_backup(sample());
  EXPECT_THAT(decode_backup(text.substr(0, text.size() / 2)).error().message(),
              HasSubstr("truncated or damaged"));
  EXPECT_THAT(decode_backup("{}").error().message(), HasSubstr("not a shoal swarm backup"));
  EXPECT_THAT(decode_backup("[1]").error().message(), HasSubstr("not a shoal swarm backup"));
  EXPECT_THAT(decode_backup(std::string(100, '[')).error().message(), HasSubstr("nested deeper"));
  EXPECT_THAT(decode_backup(std::string(kMaxBackupBytes + 1, ' ')).error().message(),
              HasSubstr("more than the 64 MiB"));
}

TEST_F(BackupCodec, NamesABadVersionOrField) {
  EXPECT_EQ(rejection([](json& d) { d["version"] = 2; }),
            "invalid backup version: 2 is not supported: this shoal reads version 1");
  EXPECT_EQ(rejection([](json& d) { d["version"] = "1"; }),
            "invalid backup version: is not a non-negative integer");
  EXPECT_EQ(rejection([](json& d) { d.erase("cluster_id"); }),
            "invalid backup cluster_id: is missing");
  EXPECT_EQ(rejection([](json& d) { d["ca"]["cert_pem"] = 5; }),
            "invalid backup ca.cert_pem: is not string");
  EXPECT_THAT(rejection([](json& d) { d["created_at"] = "yesterday"; }),
              HasSubstr("invalid backup created_at: \"yesterday\" is not a UTC time"));
  EXPECT_THAT(rejection([](json& d) { d["swarm"]["default_addr_pool"] = "10.0.0.0/28"; }),
              HasSubstr("invalid backup swarm.default_addr_pool"));
  EXPECT_THAT(rejection([](json& d) { d["swarm"]["heartbeat_ms"] = 0; }),
              HasSubstr("invalid backup swarm.heartbeat_ms"));
  EXPECT_EQ(rejection([](json& d) { d["store"]["objects"] = json::object(); }),
            "invalid backup store.objects: is not array");
}

TEST_F(BackupCodec, NamesABadObject) {
  EXPECT_EQ(rejection([](json& d) { d["store"]["objects"][2]["kind"] = "widget"; }),
            "invalid backup store.objects[2]: unknown object kind \"widget\"");
  EXPECT_THAT(rejection([](json& d) { d["store"]["objects"][2]["object"]["subnet"] = "x"; }),
              HasSubstr("invalid backup store.objects[2]: invalid stored network"));
  EXPECT_EQ(rejection([](json& d) { d["store"]["objects"][1]["object"]["id"] = "manager1"; }),
            "invalid backup store.objects[1]: a second node with id manager1");
  EXPECT_EQ(rejection([](json& d) { d["store"]["objects"][3]["object"]["id"] = ""; }),
            "invalid backup store.objects[3]: a service without an id");
  EXPECT_EQ(rejection([](json& d) { d["store"]["objects"][0].erase("object"); }),
            "invalid backup store.objects[0].object: is missing");
}

TEST_F(BackupCodec, RefusesACaKeyOrTokenThatIsNotTheCertificates) {
  EXPECT_THAT(rejection([](json& d) { d["ca"]["key_pem"] = other_->key_pem(); }),
              HasSubstr("invalid backup ca: invalid CA key: does not match"));
  EXPECT_THAT(rejection([](json& d) { d["ca"]["cert_pem"] = "not a certificate"; }),
              HasSubstr("invalid backup ca:"));
  EXPECT_EQ(rejection([](json& d) { d["join_tokens"]["worker"] = pki::make_join_token(*other_); }),
            "invalid backup join_tokens.worker: is for another CA than the backup's");
  EXPECT_THAT(rejection([](json& d) { d["join_tokens"]["manager"] = "SWMTKN-1-nope"; }),
              HasSubstr("invalid backup join_tokens.manager:"));
}

TEST_F(BackupCodec, RestoredObjectsDropManagersAndMarkWorkersDown) {
  auto self = node("restored1", manager::NodeRole::kManager);
  self.status = manager::NodeStatus::kUnknown;
  auto objects = restored_objects(sample(), self);
  std::map<std::string, manager::Node> nodes;
  for (const auto& object : objects) {
    if (const auto* n = std::get_if<manager::Node>(&object)) {
      nodes[n->id] = *n;
    }
  }
  EXPECT_FALSE(nodes.contains("manager1"));
  ASSERT_TRUE(nodes.contains("worker1"));
  EXPECT_EQ(nodes["worker1"].status, manager::NodeStatus::kDown);
  ASSERT_TRUE(nodes.contains("restored1"));
  EXPECT_EQ(nodes["restored1"].role, manager::NodeRole::kManager);
  auto counts = count_objects(objects);
  EXPECT_EQ(counts.nodes, 2u);
  EXPECT_EQ(counts.networks, 1u);
  EXPECT_EQ(counts.services, 1u);
  EXPECT_EQ(counts.tasks, 1u);  // the orchestrator replaces those of gone nodes
  EXPECT_EQ(counts.configs, 1u);
}

TEST_F(BackupCodec, ControlBackupWritesTheStoreAndTheSecrets) {
  auto manager = ManagerRuntime::start(ManagerOptions{});
  ASSERT_OK(manager);
  ASSERT_OK((*manager)->store().update([](manager::WriteTx& tx) -> Status {
    for (auto& object : sample_objects()) {
      SHOAL_TRY(tx.create(object));
    }
    return {};
  }));
  auto context = std::make_shared<ManagerContext>();
  context->manager = manager->get();
  shoal::testing::FakeControlHooks hooks;
  hooks.secrets = sample().secrets;
  context->hooks = &hooks;
  std::shared_ptr<const ManagerContext> current = context;
  ControlService control([&] { return current; }, false);

  grpc::ServerContext call;
  api::BackupData data;
  ASSERT_TRUE(control.Backup(&call, nullptr, &data).ok());
  auto decoded = decode_backup(data.data());
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->secrets.cluster_id, "cluster42");
  EXPECT_EQ(decoded->secrets.ca_key_pem, ca_->key_pem());
  EXPECT_GE(decoded->objects.size(), sample_objects().size());  // the loop may add tasks
  EXPECT_GE(decoded->store_index, 1u);
  EXPECT_EQ(data.summary().cluster_id(), "cluster42");
  EXPECT_EQ(data.summary().services(), 1u);
  EXPECT_EQ(data.summary().networks(), 1u);
  EXPECT_EQ(data.summary().configs(), 1u);
  EXPECT_EQ(data.summary().nodes(), 2u);

  // Only a manager makes backups.
  current = nullptr;
  grpc::ServerContext again;
  auto refused = control.Backup(&again, nullptr, &data);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message(), api::kNotAManager);
}

TEST_F(BackupCodec, RestoredSecretsKeepTheCaAndTokens) {
  char pattern[] = "/tmp/shoal-backup-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  auto b = sample();
  auto ca = pki::CertificateAuthority::load(b.secrets.ca_cert_pem, b.secrets.ca_key_pem);
  ASSERT_OK(ca);
  auto restored = ClusterSecrets::restore(dir, std::move(*ca), "cluster42", b.secrets.tokens);
  ASSERT_OK(restored);
  EXPECT_EQ((*restored)->cluster_id(), "cluster42");
  EXPECT_EQ((*restored)->tokens().worker, b.secrets.tokens.worker);
  auto role = (*restored)->role_for(b.secrets.tokens.worker);
  ASSERT_OK(role);
  EXPECT_EQ(*role, pki::NodeRole::kWorker);
  EXPECT_TRUE(fs::exists(dir + "/manager/cluster.json"));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace shoal::manager
