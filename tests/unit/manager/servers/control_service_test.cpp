// The Control API on an in-memory manager, called directly as gRPC would (with a bare
// ServerContext): every check refuses bad input before anything is written.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

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

// The ids and names of every network and service: what a refused request must leave alone.
// (Versions are left out: the manager's loop allocates networks in the background.)
struct Snapshot {
  std::set<std::pair<std::string, std::string>> networks;
  std::set<std::pair<std::string, std::string>> services;
  std::map<std::string, uint64_t> replicas;
  bool operator==(const Snapshot&) const = default;
};

class ControlServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = ManagerRuntime::start(ManagerOptions{});  // empty store_path: in memory
    ASSERT_OK(started);
    manager_ = std::move(started).value();
    auto context = std::make_shared<ManagerContext>();
    context->manager = manager_.get();
    context->hooks = &hooks_;
    context_ = context;
    control_ = std::make_unique<ControlService>([this] { return context_; }, false);
  }

  void TearDown() override {
    control_.reset();
    context_.reset();
    manager_.reset();
  }

  grpc::Status create_network(const std::string& name, const std::string& subnet = "",
                              const std::string& gateway = "", api::Network* out = nullptr) {
    grpc::ServerContext context;
    api::CreateNetworkRequest request;
    request.set_name(name);
    request.set_driver("overlay");
    request.set_subnet(subnet);
    request.set_gateway(gateway);
    api::Network response;
    auto status = control_->CreateNetwork(&context, &request, out ? out : &response);
    return status;
  }

  static api::ServiceSpec spec(const std::string& name, uint64_t replicas = 1) {
    api::ServiceSpec spec;
    spec.set_name(name);
    spec.add_command("/bin/sleep");
    spec.add_args("1000");
    spec.set_mode("replicated");
    spec.set_replicas(replicas);
    return spec;
  }

  grpc::Status create_service(const api::ServiceSpec& spec, api::Service* out = nullptr) {
    grpc::ServerContext context;
    api::Service response;
    return control_->CreateService(&context, &spec, out ? out : &response);
  }

  // RemoveNetwork or RemoveService of one id.
  template <typename Remove>
  grpc::Status remove(Remove method, const std::string& id) {
    grpc::ServerContext context;
    api::IdRequest request;
    request.set_id(id);
    api::Empty empty;
    return (control_.get()->*method)(&context, &request, &empty);
  }

  Snapshot snapshot() {
    Snapshot s;
    manager_->store().view([&](const manager::ReadTx& tx) {
      for (const auto& network : tx.networks())
        s.networks.emplace(network.id, network.name);
      for (const auto& service : tx.services()) {
        s.services.emplace(service.id, service.spec.name);
        s.replicas[service.id] = service.spec.replicas;
      }
    });
    return s;
  }

  shoal::testing::FakeControlHooks hooks_;
  std::unique_ptr<ManagerRuntime> manager_;
  std::shared_ptr<const ManagerContext> context_;
  std::unique_ptr<ControlService> control_;
};

TEST_F(ControlServiceTest, CreatesAndListsANetwork) {
  api::Network network;
  auto status = create_network("app", "10.20.0.0/24", "", &network);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(network.name(), "app");
  EXPECT_EQ(network.subnet(), "10.20.0.0/24");
  EXPECT_FALSE(network.id().empty());

  grpc::ServerContext context;
  api::ListNetworksResponse list;
  ASSERT_TRUE(control_->ListNetworks(&context, nullptr, &list).ok());
  ASSERT_EQ(list.networks_size(), 1);
  EXPECT_EQ(list.networks(0).id(), network.id());
}

TEST_F(ControlServiceTest, CreateNetworkWithAnUnparsableSubnetIsInvalidAndChangesNothing) {
  ASSERT_TRUE(create_network("app", "10.20.0.0/24").ok());
  auto before = snapshot();
  for (const char* bad : {"10.0.0.0/33", "not-a-cidr", "10.0.0/24", "300.1.1.0/24"}) {
    auto status = create_network("other", bad);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), HasSubstr(bad));
    EXPECT_EQ(status.error_message().find('\n'), std::string::npos) << "one line";
  }
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ControlServiceTest, CreateNetworkWithHostBitsSetSuggestsTheNetwork) {
  auto status = create_network("app", "10.20.0.7/24");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("10.20.0.7/24"));
  EXPECT_THAT(status.error_message(), HasSubstr("10.20.0.0/24"));
  EXPECT_TRUE(snapshot().networks.empty());
}

TEST_F(ControlServiceTest, CreateNetworkWithAnOverlappingSubnetNamesTheOtherNetwork) {
  ASSERT_TRUE(create_network("app", "10.20.0.0/16").ok());
  auto before = snapshot();
  auto status = create_network("other", "10.20.5.0/24");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("overlaps"));
  EXPECT_THAT(status.error_message(), HasSubstr("app"));
  EXPECT_THAT(status.error_message(), HasSubstr("10.20.0.0/16"));
  // The wider one over the narrower one overlaps too.
  status = create_network("other", "10.0.0.0/8");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(snapshot(), before);
  // A disjoint subnet is fine.
  EXPECT_TRUE(create_network("other", "10.21.0.0/24").ok());
}

// Networks made in one allocator pass: an explicit subnet must not be handed to a pool network
// that happens to sort first (it was, until allocate_all took explicit subnets first). A long
// debounce puts every create in one pass, and enough pool networks that one sorts first.
TEST(ControlServiceAllocation, PoolSubnetsAvoidAnExplicitSubnetInTheSamePass) {
  ManagerOptions options;
  options.debounce = std::chrono::milliseconds(500);
  auto manager = ManagerRuntime::start(options);
  ASSERT_OK(manager);
  auto context = std::make_shared<ManagerContext>();
  context->manager = manager->get();
  ControlService control([context] { return context; }, false);
  auto create = [&](const std::string& name, const std::string& subnet) {
    grpc::ServerContext server_context;
    api::CreateNetworkRequest request;
    request.set_name(name);
    request.set_subnet(subnet);
    api::Network network;
    auto status = control.CreateNetwork(&server_context, &request, &network);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return network.id();
  };
  // 10.0.0.0/24 is the default pool's first /24.
  std::string explicit_id = create("explicit", "10.0.0.0/24");
  std::vector<std::string> pooled;
  for (int i = 0;
       i < 30 && (pooled.empty() || *std::min_element(pooled.begin(), pooled.end()) > explicit_id);
       ++i) {
    pooled.push_back(create("pooled" + std::to_string(i), ""));
  }
  std::map<std::string, std::optional<Ipv4Prefix>> subnets;
  bool allocated = testing::wait_until(
      [&] {
        bool all = true;
        (*manager)->store().view([&](const manager::ReadTx& tx) {
          for (const auto& network : tx.networks()) {
            all = all && network.vni != 0;
            subnets[network.name] = network.subnet;
          }
        });
        return all;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(20));
  EXPECT_TRUE(allocated) << "a network was never allocated";
  EXPECT_EQ(subnets["explicit"]->str(), "10.0.0.0/24");
  for (const auto& [name, subnet] : subnets) {
    if (name != "explicit" && subnet) {
      EXPECT_FALSE(subnet->overlaps(*Ipv4Prefix::parse("10.0.0.0/24"))) << name;
    }
  }
}

TEST_F(ControlServiceTest, AnExplicitSubnetOverAPoolSubnetIsRefused) {
  api::Network pooled;
  ASSERT_TRUE(create_network("pooled", "", "", &pooled).ok());
  std::optional<Ipv4Prefix> subnet;
  bool allocated = testing::wait_until(
      [&] {
        manager_->store().view([&](const manager::ReadTx& tx) {
          auto network = tx.get_network(pooled.id());
          subnet = network && network->vni != 0 ? network->subnet : std::nullopt;
        });
        return subnet.has_value();
      },
      std::chrono::seconds(5), std::chrono::milliseconds(10));
  ASSERT_TRUE(allocated);
  auto status = create_network("late", subnet->str());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("pooled"));
}

TEST_F(ControlServiceTest, CreateNetworkWithADuplicateNameAlreadyExists) {
  ASSERT_TRUE(create_network("app").ok());
  auto before = snapshot();
  auto status = create_network("app", "10.30.0.0/24");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("app"));
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ControlServiceTest, CreateNetworkWithABadNameOrGatewayIsInvalid) {
  EXPECT_EQ(create_network("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create_network("bad name").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto status = create_network("app", "10.20.0.0/24", "nonsense");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("nonsense"));
  EXPECT_TRUE(snapshot().networks.empty());
}

TEST_F(ControlServiceTest, CreateServiceOnAnUnknownNetworkIsNotFound) {
  auto s = spec("web");
  s.add_networks("nowhere");
  auto status = create_service(s);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("nowhere"));
  EXPECT_TRUE(snapshot().services.empty());
}

TEST_F(ControlServiceTest, CreateServiceResolvesNetworkNamesToIds) {
  api::Network network;
  ASSERT_TRUE(create_network("app", "", "", &network).ok());
  auto s = spec("web");
  s.add_networks("app");
  api::Service service;
  auto status = create_service(s, &service);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(service.spec().networks_size(), 1);
  EXPECT_EQ(service.spec().networks(0), network.id());
  EXPECT_EQ(service.spec_version(), 1u);
}

TEST_F(ControlServiceTest, CreateServiceResolvesTheNetworksOfAliases) {
  api::Network network;
  ASSERT_TRUE(create_network("app", "", "", &network).ok());
  auto s = spec("web");
  s.add_networks("app");
  auto& aliases = *s.add_network_aliases();
  aliases.set_network("app");
  aliases.add_aliases("backend");
  api::Service service;
  auto status = create_service(s, &service);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(service.spec().network_aliases_size(), 1);
  EXPECT_EQ(service.spec().network_aliases(0).network(), network.id());
  EXPECT_EQ(service.spec().network_aliases(0).aliases(0), "backend");

  // A bad alias, or one on a network the service is not on, is refused and changes nothing.
  auto bad = spec("bad");
  bad.add_networks("app");
  auto& bad_aliases = *bad.add_network_aliases();
  bad_aliases.set_network("app");
  bad_aliases.add_aliases("no.dots");
  status = create_service(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("network alias name \"no.dots\""));
  bad.mutable_network_aliases(0)->set_aliases(0, "fine");
  bad.clear_networks();
  status = create_service(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("which it is not on"));
  EXPECT_EQ(snapshot().services.size(), 1u);
}

TEST_F(ControlServiceTest, CreateServiceWithADuplicateNameAlreadyExists) {
  ASSERT_TRUE(create_service(spec("web", 2)).ok());
  auto before = snapshot();
  auto status = create_service(spec("web", 5));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("web"));
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ControlServiceTest, CreateServiceWithAPublishedPortInUseNamesItsHolder) {
  auto first = spec("web");
  auto* port = first.add_ports();
  port->set_published(8080);
  port->set_target(80);
  ASSERT_TRUE(create_service(first).ok());
  auto before = snapshot();
  auto second = spec("api");
  *second.add_ports() = *port;
  auto status = create_service(second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("8080"));
  EXPECT_THAT(status.error_message(), HasSubstr("web"));
  EXPECT_EQ(snapshot(), before);
  // The same number over another protocol is another port.
  second.mutable_ports(0)->set_protocol("udp");
  EXPECT_TRUE(create_service(second).ok());
}

TEST_F(ControlServiceTest, CreateServiceWithABadSpecIsInvalid) {
  auto no_command = spec("web");
  no_command.clear_command();
  no_command.clear_args();
  EXPECT_EQ(create_service(no_command).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_mode = spec("web");
  bad_mode.set_mode("sideways");
  auto status = create_service(bad_mode);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("sideways"));
  auto bad_env = spec("web");
  bad_env.add_env("NOEQUALS");
  EXPECT_EQ(create_service(bad_env).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_constraint = spec("web");
  bad_constraint.add_constraints("node.labels.zone~east");
  EXPECT_EQ(create_service(bad_constraint).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(snapshot().services.empty());
}

TEST_F(ControlServiceTest, UpdateServiceWithAStaleVersionIsAborted) {
  api::Service created;
  ASSERT_TRUE(create_service(spec("web", 2), &created).ok());
  // Read it, then let someone else change it.
  api::Service read;
  {
    grpc::ServerContext context;
    api::IdRequest request;
    request.set_id("web");
    ASSERT_TRUE(control_->GetService(&context, &request, &read).ok());
  }
  {
    grpc::ServerContext context;
    api::UpdateServiceRequest request;
    request.set_id(read.id());
    *request.mutable_spec() = read.spec();
    request.mutable_spec()->set_replicas(3);
    request.set_version(read.version());
    api::Service updated;
    auto status = control_->UpdateService(&context, &request, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(updated.spec().replicas(), 3u);
    EXPECT_GT(updated.version(), read.version());
  }
  grpc::ServerContext context;
  api::UpdateServiceRequest request;
  request.set_id(read.id());
  *request.mutable_spec() = read.spec();
  request.mutable_spec()->set_replicas(7);
  request.set_version(read.version());  // stale now
  api::Service updated;
  auto status = control_->UpdateService(&context, &request, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("web"));
  EXPECT_EQ(snapshot().replicas[read.id()], 3u);
}

TEST_F(ControlServiceTest, UpdateServiceCannotRename) {
  api::Service created;
  ASSERT_TRUE(create_service(spec("web"), &created).ok());
  grpc::ServerContext context;
  api::UpdateServiceRequest request;
  request.set_id(created.id());
  *request.mutable_spec() = spec("other");
  api::Service updated;
  EXPECT_EQ(control_->UpdateService(&context, &request, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(snapshot().services.begin()->second, "web");
}

TEST_F(ControlServiceTest, RemoveNetworkInUseIsRefused) {
  ASSERT_TRUE(create_network("app").ok());
  auto s = spec("web");
  s.add_networks("app");
  ASSERT_TRUE(create_service(s).ok());
  auto before = snapshot();
  auto refused = remove(&ControlService::RemoveNetwork, "app");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("in use by service web"));
  EXPECT_EQ(snapshot(), before);
  // Once the service is gone, the network can go.
  ASSERT_TRUE(remove(&ControlService::RemoveService, "web").ok());
  auto status = remove(&ControlService::RemoveNetwork, "app");
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(snapshot().networks.empty());
}

TEST_F(ControlServiceTest, UnknownObjectsAreNotFound) {
  grpc::ServerContext context;
  api::IdRequest request;
  request.set_id("nosuch");
  api::Service service;
  auto status = control_->GetService(&context, &request, &service);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("nosuch"));
  api::Empty empty;
  EXPECT_EQ(control_->RemoveService(&context, &request, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(control_->RemoveNetwork(&context, &request, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
  api::ListTasksRequest tasks;
  tasks.set_service("nosuch");
  api::ListTasksResponse listed;
  EXPECT_EQ(control_->ListTasks(&context, &tasks, &listed).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(ControlServiceWithoutManager, AnswersNotASwarmManager) {
  ControlService control([] { return std::shared_ptr<const ManagerContext>(); }, false);
  grpc::ServerContext context;
  api::ListServicesResponse services;
  auto status = control.ListServices(&context, nullptr, &services);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("This node is not a swarm manager."));
  api::CreateNetworkRequest request;
  request.set_name("app");
  api::Network network;
  EXPECT_EQ(control.CreateNetwork(&context, &request, &network).error_message(), api::kNotAManager);
  // A context without a manager in it is the same.
  auto empty = std::make_shared<ManagerContext>();
  ControlService control2([empty] { return empty; }, false);
  api::ListNodesResponse nodes;
  EXPECT_EQ(control2.ListNodes(&context, nullptr, &nodes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace shoal::manager
