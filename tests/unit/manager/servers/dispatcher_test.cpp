// The dispatcher as a node certificate sees it: a real gRPC server with the manager port's TLS
// credentials, on a unix socket in a temporary directory (no network), and clients holding
// node certificates from the same CA. Each test is an attack from the security review: a
// removed node's certificate (#10), a node renaming itself or moving its address (#5, #12),
// runs without end, log lines for tasks that are not the node's, messages of any size.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "control/api/tls.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/lookup.h"
#include "control/manager/control_api/standalone_run.h"
#include "control/manager/dispatcher/dispatcher_service.h"
#include "control/manager/loop/manager_runtime.h"
#include "control/pki/identity.h"
#include "tests/support/assertions.h"
#include "tests/support/wait.h"

namespace shoal::manager {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kWorker = "w1worker";
constexpr const char* kOther = "w2worker";
constexpr const char* kRemoved = "w3removed";

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shoal-dispatcher-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto secrets = ClusterSecrets::create(dir_ + "/secrets", "c1");
    ASSERT_OK(secrets);
    secrets_ = std::move(*secrets);
    auto manager = ManagerRuntime::start(ManagerOptions{});
    ASSERT_OK(manager);
    runtime_ = std::move(*manager);
    ASSERT_OK(runtime_->store().update([&](manager::WriteTx& tx) -> Status {
      for (auto [id, host, addr] : {std::tuple{kWorker, "h2", "198.51.100.12"},
                                    std::tuple{kOther, "h3", "198.51.100.13"}}) {
        manager::Node node;
        node.id = id;
        node.hostname = host;
        node.addr = testing::ip(addr);
        SHOAL_TRY(tx.create(node));
      }
      manager::Network network;
      network.id = "net1";
      network.name = "app";
      network.attachable = true;
      return tx.create(network);
    }));
    dispatcher_ = std::make_unique<DispatcherService>(*runtime_, 7946, nullptr);
    grpc::ServerBuilder builder;
    socket_ = "unix:" + dir_ + "/manager.sock";
    builder.AddListeningPort(socket_,
                             api::manager_credentials(files("m1manager", pki::NodeRole::kManager)));
    builder.RegisterService(dispatcher_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    dispatcher_->stop();
    if (server_)
      server_->Shutdown(std::chrono::system_clock::now() + 1s);
    dispatcher_.reset();
    runtime_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  pki::NodeFiles files(const std::string& node_id, pki::NodeRole role) {
    auto key = pki::make_key_and_csr();
    EXPECT_TRUE(key.ok());
    auto cert = secrets_->ca()->sign(key->csr_pem,
                                     {.node_id = node_id, .role = role, .cluster_id = "c1"}, {});
    EXPECT_TRUE(cert.ok()) << cert.error().message();
    return {.ca_cert_pem = secrets_->ca()->cert_pem(),
            .node_cert_pem = cert.ok() ? *cert : "",
            .node_key_pem = key->key_pem};
  }

  std::unique_ptr<api::Dispatcher::Stub> as(const std::string& node_id) {
    return api::Dispatcher::NewStub(
        api::node_channel(socket_, files(node_id, pki::NodeRole::kWorker)));
  }

  static std::unique_ptr<grpc::ClientContext> call(std::chrono::seconds timeout = 10s) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
  }

  // Opens a session as `node_id` with `request` and returns the first assignments, or the
  // refusal.
  grpc::Status session(api::Dispatcher::Stub& stub, const api::SessionRequest& request,
                       api::Assignments& first, grpc::ClientContext& context) {
    auto stream = stub.Session(&context, request);
    if (stream->Read(&first)) {
      context.TryCancel();
      stream->Finish();
      return grpc::Status::OK;
    }
    return stream->Finish();
  }

  std::optional<manager::Node> stored(const std::string& id) {
    std::optional<manager::Node> node;
    runtime_->store().view([&](const manager::ReadTx& tx) { node = tx.get_node(id); });
    return node;
  }

  api::StartRunRequest run(const std::string& name) {
    api::StartRunRequest request;
    request.set_network("app");
    request.set_name(name);
    request.add_command("/bin/true");
    return request;
  }

  std::string dir_;
  std::string socket_;
  std::unique_ptr<ClusterSecrets> secrets_;
  std::unique_ptr<ManagerRuntime> runtime_;
  std::unique_ptr<DispatcherService> dispatcher_;
  std::unique_ptr<grpc::Server> server_;
};

// The review (B3): after `node rm`, the node's certificate still created a hidden service that
// squatted a name, and still published logs.
TEST_F(DispatcherTest, ARemovedNodesCertificateIsRefusedOnEveryCall) {
  auto removed = as(kRemoved);
  api::StartRunResponse started;
  auto start = removed->StartRun(call().get(), run("ghost1"), &started);
  EXPECT_EQ(start.error_code(), grpc::StatusCode::PERMISSION_DENIED) << start.error_message();
  EXPECT_THAT(start.error_message(), HasSubstr("not a member of this swarm"));
  api::IdRequest end;
  end.set_id("anything");
  api::Empty empty;
  EXPECT_EQ(removed->EndRun(call().get(), end, &empty).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  api::PublishLogsRequest logs;
  logs.set_subscription_id("s1");
  EXPECT_EQ(removed->PublishLogs(call().get(), logs, &empty).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  api::UpdateTaskStatusRequest status;
  status.set_session_id("s1");
  EXPECT_EQ(removed->UpdateTaskStatus(call().get(), status, &empty).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  runtime_->store().view(
      [](const manager::ReadTx& tx) { EXPECT_FALSE(tx.service_by_name("ghost1")); });
}

TEST_F(DispatcherTest, RunsAreCappedPerNode) {
  auto worker = as(kWorker);
  for (size_t i = 0; i < kMaxStandaloneRunsPerNode; ++i) {
    api::StartRunResponse started;
    auto status = worker->StartRun(call().get(), run("r" + std::to_string(i)), &started);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  api::StartRunResponse started;
  auto over = worker->StartRun(call().get(), run("one-more"), &started);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(over.error_message(), HasSubstr("already runs 32 processes"));
  // Another node is not affected, and the refused run left nothing behind.
  EXPECT_TRUE(as(kOther)->StartRun(call().get(), run("theirs"), &started).ok());
  runtime_->store().view(
      [](const manager::ReadTx& tx) { EXPECT_FALSE(tx.service_by_name("one-more")); });
}

// A run is named in DNS on its network: a name that a service answers to there as an alias
// would be taken from it.
TEST_F(DispatcherTest, ARunCannotTakeAServicesAliasOrAnAmbiguousNetwork) {
  ASSERT_OK(runtime_->store().update([&](manager::WriteTx& tx) -> Status {
    manager::Service web;
    web.id = "svcweb";
    web.spec.name = "web";
    web.spec.command = {"/bin/true"};
    web.spec.networks = {"net1"};
    web.spec.network_aliases["net1"] = {"db"};
    SHOAL_TRY(tx.create(web));
    manager::Network twin;  // a second network named like an id prefix of both
    twin.id = "net2";
    twin.name = "other";
    twin.attachable = true;
    return tx.create(twin);
  }));
  auto worker = as(kWorker);
  api::StartRunResponse started;
  auto alias = worker->StartRun(call().get(), run("db"), &started);
  EXPECT_EQ(alias.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(alias.error_message(), HasSubstr("alias of service web"));
  auto ambiguous = run("x");
  ambiguous.set_network("net");
  auto refused = worker->StartRun(call().get(), ambiguous, &started);
  EXPECT_EQ(refused.error_message(), "network net is ambiguous (2 matches found)");
}

// The review (C): a node renamed itself with terminal escapes or 3 MB; it could also move its
// recorded address, which every node's overlay and gossip then follow.
TEST_F(DispatcherTest, SessionsValidateNamesAndKeepTheJoinAddress) {
  auto worker = as(kWorker);
  api::Assignments first;
  for (std::string hostile :
       {std::string("\x1b]0;owned-title\a\x1b[2J\x1b[31mh2"), std::string(3'000'000, 'a')}) {
    api::SessionRequest request;
    request.set_hostname(hostile);
    grpc::ClientContext context;
    auto refused = session(*worker, request, first, context);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(refused.error_message(), HasSubstr("invalid hostname"));
    EXPECT_EQ(stored(kWorker)->hostname, "h2");
  }
  {
    api::SessionRequest request;
    request.set_addr("198.51.100.66");
    grpc::ClientContext context;
    auto moved = session(*worker, request, first, context);
    EXPECT_EQ(moved.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(moved.error_message(), HasSubstr("joined with address 198.51.100.12"));
    EXPECT_EQ(stored(kWorker)->addr.str(), "198.51.100.12");
  }
  // A valid rename is taken, a duplicate too (as in Docker); the name is then ambiguous.
  api::SessionRequest rename;
  rename.set_hostname("h3");
  rename.set_addr("198.51.100.12");
  grpc::ClientContext context;
  auto renamed = session(*worker, rename, first, context);
  ASSERT_TRUE(renamed.ok()) << renamed.error_message();
  EXPECT_EQ(stored(kWorker)->hostname, "h3");
  runtime_->store().view([](const manager::ReadTx& tx) {
    EXPECT_EQ(find_node(tx, "h3").refusal().error_message(),
              "node h3 is ambiguous (2 matches found)");
  });
}

TEST_F(DispatcherTest, LogsAreTakenOnlyForTheCallersAskedTasksAndCapped) {
  auto worker = as(kWorker);
  api::Empty empty;
  api::PublishLogsRequest unknown;
  unknown.set_subscription_id("no-such-subscription");
  EXPECT_EQ(worker->PublishLogs(call().get(), unknown, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // `service logs` for two tasks on the worker: the subscription reaches it in its session.
  manager::Task mine;
  mine.id = "task-mine";
  mine.node_id = kWorker;
  mine.observed = manager::TaskState::kRunning;
  auto collected = std::async(std::launch::async, [&] {
    api::LogsResponse response;
    dispatcher_->collect_logs({mine}, 0, response);
    return response;
  });
  api::SessionRequest open;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  auto stream = worker->Session(&context, open);
  std::string subscription;
  for (api::Assignments assignments; subscription.empty() && stream->Read(&assignments);) {
    if (!assignments.log_subscriptions().empty())
      subscription = assignments.log_subscriptions(0).id();
  }
  context.TryCancel();
  stream->Finish();
  ASSERT_FALSE(subscription.empty());

  api::PublishLogsRequest spoofed;
  spoofed.set_subscription_id(subscription);
  auto* line = spoofed.add_lines();
  line->set_task_id("task-of-another-node");
  line->set_stream("stdout");
  line->set_line("forged");
  auto refused = worker->PublishLogs(call().get(), spoofed, &empty);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(), HasSubstr("task-of-another-node"));
  EXPECT_EQ(as(kOther)->PublishLogs(call().get(), spoofed, &empty).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // asked nothing of that node

  api::PublishLogsRequest answer;
  answer.set_subscription_id(subscription);
  auto* big = answer.add_lines();
  big->set_task_id("task-mine");
  big->set_stream("stderr");
  big->set_line(std::string(100'000, 'x'));
  big->set_node_id(kOther);  // the manager says who sent it, not the node
  ASSERT_TRUE(worker->PublishLogs(call().get(), answer, &empty).ok());
  auto response = collected.get();
  ASSERT_EQ(response.lines_size(), 1);
  EXPECT_EQ(response.lines(0).line().size(), kMaxLogLineBytes);
  EXPECT_EQ(response.lines(0).node_id(), kWorker);
}

TEST_F(DispatcherTest, TaskStatusMessagesAreCut) {
  ASSERT_OK(runtime_->store().update([&](manager::WriteTx& tx) {
    manager::Task task;
    task.id = "t1";
    task.service_id = "gone";
    task.node_id = kWorker;
    task.observed = manager::TaskState::kAssigned;
    return tx.create(task);
  }));
  auto worker = as(kWorker);
  api::Assignments first;
  grpc::ClientContext context;
  auto opened = session(*worker, api::SessionRequest{}, first, context);
  ASSERT_TRUE(opened.ok()) << opened.error_message();
  api::UpdateTaskStatusRequest update;
  update.set_session_id(first.session_id());
  auto* report = update.add_updates();
  report->set_task_id("t1");
  report->set_state("running");
  report->set_message(std::string(1'000'000, 'm'));
  api::Empty empty;
  auto status = worker->UpdateTaskStatus(call().get(), update, &empty);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::optional<manager::Task> task;
  runtime_->store().view([&](const manager::ReadTx& tx) { task = tx.get_task("t1"); });
  ASSERT_TRUE(task);
  EXPECT_EQ(task->observed, manager::TaskState::kRunning);
  EXPECT_EQ(task->message.size(), kMaxTaskMessageBytes);
}

}  // namespace
}  // namespace shoal::manager
