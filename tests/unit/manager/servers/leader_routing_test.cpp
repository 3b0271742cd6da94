// A follower's Control router tells a manager's refusal ("no leader", "not the leader") from a
// manager it cannot reach by the kRefusalMetadata trailer, never by the message's words.
#include "control/manager/leadership/leader_routing.h"
#include "tests/support/fake_control_hooks.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>

namespace shoal::manager {
namespace {

using namespace std::chrono_literals;

// A follower that knows `leader_addr` (none: no leader), served in-process without TLS (the
// CLI socket's way: no certificate to check).
class FollowerRouter : public ::testing::Test {
 protected:
  void start(const std::string& leader_addr) {
    auto held = std::make_shared<ManagerContext>();
    held->channels = std::make_shared<LeaderChannels>(pki::NodeFiles{});
    held->hooks = &hooks_;
    held->leader_id = leader_addr.empty() ? "" : "leader1";
    held->leader_addr = leader_addr;
    router_ = std::make_unique<ControlRouter>([held] { return held; }, false);
    grpc::ServerBuilder builder;
    builder.RegisterService(router_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = api::Control::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_)
      server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  shoal::testing::FakeControlHooks hooks_;
  std::unique_ptr<ControlRouter> router_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<api::Control::Stub> stub_;
};

TEST_F(FollowerRouter, NoLeaderKnownIsARefusalMarkedAsOne) {
  start("");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  api::ListNodesResponse nodes;
  auto status = stub_->ListNodes(&context, api::Empty(), &nodes);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), api::kNoLeader);
  EXPECT_TRUE(api::refused_by_a_manager(context));
}

TEST_F(FollowerRouter, ALeaderThatCannotBeReachedIsNoRefusal) {
  start("127.0.0.1:1");  // nothing listens there: the router waits for another leader, then fails
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  api::ListNodesResponse nodes;
  auto status = stub_->ListNodes(&context, api::Empty(), &nodes);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("does not answer"), std::string::npos)
      << status.error_message();
  EXPECT_FALSE(api::refused_by_a_manager(context));
}

}  // namespace
}  // namespace shoal::manager
