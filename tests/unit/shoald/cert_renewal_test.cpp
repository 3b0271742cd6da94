// Certificate renewal (issue #18, finding #6): the schedule (50-80% of the lifetime, backoff,
// an expired certificate at once) driven by a fake clock, the --cert-expiry floor, and the
// manager's TLS following renewed files without a restart, with real gRPC and real
// certificates that expire within seconds.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "control/api/tls.h"
#include "control/pki/ca.h"
#include "control/pki/identity.h"
#include "control/pki/node_files.h"
#include "control/shoald/cert_renewal.h"
#include "swarm.grpc.pb.h"

namespace shoal::shoald {
namespace {

using namespace std::chrono_literals;

class FakeClock final : public RenewalClock {
 public:
  TimePoint now() const override { return now_; }
  void advance(std::chrono::milliseconds by) { now_ += by; }
  void set(TimePoint when) { now_ = when; }

 private:
  TimePoint now_ = TimePoint{} + std::chrono::hours(24 * 365 * 50);
};

// A node whose certificate is what the test says, and whose renewals succeed or fail on cue. A
// successful renewal gives a certificate of the same lifetime starting now.
class FakeNode final : public CertificateHolder {
 public:
  explicit FakeNode(const FakeClock& clock) : clock_(clock) {}

  Result<pki::Validity> current_certificate() override {
    if (!cert_)
      return Error{.op = "load", .object = "certificates", .errnum = ENOENT, .detail = ""};
    return *cert_;
  }
  Status renew_certificate() override {
    attempts.push_back(clock_.now());
    if (fail_next > 0) {
      --fail_next;
      return Error{.op = "renew", .object = "node certificate", .detail = "no leader"};
    }
    auto lifetime = cert_->not_after - cert_->not_before;
    cert_ = pki::Validity{clock_.now(), clock_.now() + lifetime};
    must_move = false;  // the new certificate is the new root's
    return {};
  }
  bool must_renew_now() override { return must_move; }
  void issue(TimePoint not_before, std::chrono::seconds lifetime) {
    cert_ = pki::Validity{not_before, not_before + lifetime};
  }

  std::vector<TimePoint> attempts;
  int fail_next = 0;
  bool must_move = false;  // a root rotation asks for a certificate of the new root

 private:
  const FakeClock& clock_;
  std::optional<pki::Validity> cert_;
};

// Runs the renewer as its thread would, jumping the fake clock to each wake-up, until `until`.
void run_until(CertRenewer& renewer, FakeClock& clock, TimePoint until) {
  while (clock.now() < until) {
    auto next = renewer.step();
    clock.set(std::min(std::max(next, clock.now()), until));
  }
}

TEST(RenewalSchedule, RenewalPointSpansFiftyToEightyPercentOfTheLifetime) {
  TimePoint start{};
  pki::Validity validity{start, start + 100s};
  EXPECT_EQ(renewal_time(validity, 0.0), start + 50s);
  EXPECT_EQ(renewal_time(validity, 0.5), start + 65s);
  EXPECT_EQ(renewal_time(validity, 1.0), start + 80s);
  EXPECT_EQ(renewal_time(validity, 7.0), start + 80s);  // out of range: clamped
  // Docker's default lifetime: between day 45 and day 72.
  pki::Validity ninety_days{start, start + std::chrono::hours(24 * 90)};
  EXPECT_EQ(renewal_time(ninety_days, 0.0), start + std::chrono::hours(24 * 45));
  EXPECT_EQ(renewal_time(ninety_days, 1.0), start + std::chrono::hours(24 * 72));
}

TEST(RenewalSchedule, RetryDelayDoublesUpToFiveMinutesJitteredToHalfOrAll) {
  EXPECT_EQ(retry_delay(1, 1.0), 1000ms);
  EXPECT_EQ(retry_delay(2, 1.0), 2000ms);
  EXPECT_EQ(retry_delay(3, 1.0), 4000ms);
  EXPECT_EQ(retry_delay(1, 0.0), 500ms);
  EXPECT_EQ(retry_delay(9, 1.0), 256000ms);
  EXPECT_EQ(retry_delay(10, 1.0), std::chrono::milliseconds(5min));
  EXPECT_EQ(retry_delay(1000, 1.0), std::chrono::milliseconds(5min));  // no overflow
  EXPECT_EQ(retry_delay(1000, 0.0), std::chrono::milliseconds(150s));
}

TEST(RenewalSchedule, RenewsOnceAtTheDrawnPointAndNotBefore) {
  FakeClock clock;
  FakeNode node(clock);
  node.issue(clock.now(), 100s);
  const auto issued = clock.now();
  CertRenewer renewer(node, clock, [] { return 0.5; });  // 65% of the lifetime
  run_until(renewer, clock, issued + 64s);
  EXPECT_TRUE(node.attempts.empty());
  run_until(renewer, clock, issued + 66s);
  ASSERT_EQ(node.attempts.size(), 1u);
  EXPECT_EQ(node.attempts[0], issued + 65s);
  // The new certificate (from 65 s) is renewed at 65% of its own lifetime: at 130 s.
  run_until(renewer, clock, issued + 129s);
  EXPECT_EQ(node.attempts.size(), 1u);
  run_until(renewer, clock, issued + 131s);
  ASSERT_EQ(node.attempts.size(), 2u);
  EXPECT_EQ(node.attempts[1], issued + 130s);
}

TEST(RenewalSchedule, EveryDrawFallsInTheWindow) {
  for (double draw : {0.0, 0.25, 0.999}) {
    FakeClock clock;
    FakeNode node(clock);
    const auto issued = clock.now();
    node.issue(issued, 1000s);
    CertRenewer renewer(node, clock, [draw] { return draw; });
    run_until(renewer, clock, issued + 900s);
    ASSERT_FALSE(node.attempts.empty()) << draw;
    EXPECT_GE(node.attempts[0], issued + 500s) << draw;
    EXPECT_LE(node.attempts[0], issued + 800s) << draw;
  }
}

TEST(RenewalSchedule, AnExpiredCertificateIsRenewedAtOnce) {
  FakeClock clock;
  FakeNode node(clock);
  node.issue(clock.now() - 200s, 100s);  // expired 100 s ago (shoald was stopped)
  CertRenewer renewer(node, clock, [] { return 0.9; });
  renewer.step();
  ASSERT_EQ(node.attempts.size(), 1u);
  EXPECT_EQ(node.attempts[0], clock.now());
}

TEST(RenewalSchedule, FailuresAreRetriedWithGrowingJitteredDelaysThenSucceed) {
  FakeClock clock;
  FakeNode node(clock);
  const auto issued = clock.now();
  node.issue(issued, 3600s);
  node.fail_next = 4;
  CertRenewer renewer(node, clock, [] { return 0.0; });  // at 50%; jitter 0: half delays
  run_until(renewer, clock, issued + 1800s + 60s);
  ASSERT_EQ(node.attempts.size(), 5u);
  const auto first = issued + 1800s;
  EXPECT_EQ(node.attempts[0], first);
  EXPECT_EQ(node.attempts[1] - node.attempts[0], 500ms);
  EXPECT_EQ(node.attempts[2] - node.attempts[1], 1000ms);
  EXPECT_EQ(node.attempts[3] - node.attempts[2], 2000ms);
  EXPECT_EQ(node.attempts[4] - node.attempts[3], 4000ms);
  EXPECT_EQ(renewer.failures(), 0);  // the fifth worked; the next is at 50% of the new one
  ASSERT_TRUE(renewer.due().has_value());
  EXPECT_EQ(*renewer.due(), node.attempts[4] + 1800s);
}

TEST(RenewalSchedule, ARootRotationRenewsAtOnceWithBackoffThenTheWindowAgain) {
  FakeClock clock;
  FakeNode node(clock);
  const auto issued = clock.now();
  node.issue(issued, 1000s);
  CertRenewer renewer(node, clock, [] { return 0.0; });  // window at 50%; jitter 0
  run_until(renewer, clock, issued + 10s);
  EXPECT_TRUE(node.attempts.empty());
  node.must_move = true;
  node.fail_next = 2;
  run_until(renewer, clock, issued + 20s);
  ASSERT_EQ(node.attempts.size(), 3u);
  EXPECT_LE(node.attempts[0], issued + 10s + RenewalPolicy{}.poll);
  EXPECT_EQ(node.attempts[1] - node.attempts[0], 500ms);
  EXPECT_EQ(node.attempts[2] - node.attempts[1], 1000ms);
  // Moved: the next renewal is at 50% of the new certificate again.
  ASSERT_TRUE(renewer.due().has_value());
  EXPECT_EQ(*renewer.due(), node.attempts[2] + 500s);
}

TEST(RenewalSchedule, NothingToRenewOutsideASwarmThenAJoinedCertificateIsNoticed) {
  FakeClock clock;
  FakeNode node(clock);
  CertRenewer renewer(node, clock, [] { return 0.0; });
  auto next = renewer.step();
  EXPECT_EQ(next, clock.now() + RenewalPolicy{}.poll);
  EXPECT_FALSE(renewer.due().has_value());
  node.issue(clock.now(), 100s);
  renewer.step();
  ASSERT_TRUE(renewer.due().has_value());
  EXPECT_EQ(*renewer.due(), clock.now() + 50s);
  EXPECT_TRUE(node.attempts.empty());
}

// ---- TLS that follows renewed files ----

// Answers with the client certificate it saw, so the test knows which one the client used.
class EchoCa final : public api::Ca::Service {
  grpc::Status GetRootCertificate(grpc::ServerContext* context, const api::Empty*,
                                  api::RootCertificate* out) override {
    auto pems = context->auth_context()->FindPropertyValues("x509_pem_cert");
    if (pems.empty())
      return {grpc::StatusCode::UNAUTHENTICATED, "no client certificate"};
    out->set_pem(std::string(pems.front().data(), pems.front().size()));
    return grpc::Status::OK;
  }
};

class WatchedTls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "renewal-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    auto ca = pki::CertificateAuthority::create();
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(*ca));
  }
  void TearDown() override {
    if (server_)
      server_->Shutdown(std::chrono::system_clock::now() + 1s);
    std::filesystem::remove_all(root_);
  }

  // A manager's files (server and client certificate in one) valid for `validity`.
  pki::NodeFiles issue(const std::string& id, std::chrono::seconds validity) {
    auto key = pki::make_key_and_csr();
    EXPECT_TRUE(key.ok());
    auto cert =
        ca_->sign(key->csr_pem, {id, pki::NodeRole::kManager, "c1"}, {"127.0.0.1"}, validity);
    EXPECT_TRUE(cert.ok());
    return {.ca_cert_pem = ca_->cert_pem(), .node_cert_pem = *cert, .node_key_pem = key->key_pem};
  }

  // Saves `files` under dir and, for watched, returns them with watch_dir set.
  pki::NodeFiles save(const std::string& dir, pki::NodeFiles files, bool watched) {
    EXPECT_TRUE(pki::save_node_files(dir, files).ok());
    if (watched)
      files.watch_dir = dir;
    return files;
  }

  void serve(const pki::NodeFiles& files) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", api::manager_credentials(files), &port_);
    api::accept_keepalives(builder);  // as the manager port: else its GOAWAY ends the early channel
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_NE(port_, 0);
  }

  // The client certificate the server saw on a call through `channel`, or the error.
  std::string call(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    api::Empty request;
    api::RootCertificate seen;
    auto status = api::Ca::NewStub(channel)->GetRootCertificate(&context, request, &seen);
    return status.ok() ? seen.pem() : "error: " + status.error_message();
  }

  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

  std::string root_;
  std::optional<pki::CertificateAuthority> ca_;
  EchoCa service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// The server's and the client's certificates both expire 4 s after issue; both nodes renew at
// 1 s by writing new files only. After the old ones expired, a new connection works both ways
// (the server presents its new certificate, the client its new one) and a connection made
// before the renewal keeps working: no restart, no failed call.
TEST_F(WatchedTls, RenewedFilesAreUsedWithoutARestartAfterTheOldOnesExpire) {
  const std::string server_dir = root_ + "/server";
  const std::string client_dir = root_ + "/client";
  serve(save(server_dir, issue("m1", 4s), true));
  auto client = save(client_dir, issue("m2", 4s), true);
  auto early = api::node_channel(addr(), client);
  ASSERT_EQ(call(early), client.node_cert_pem);

  auto renewed_server = issue("m1", 1h);
  auto renewed_client = issue("m2", 1h);
  save(server_dir, renewed_server, true);
  save(client_dir, renewed_client, true);
  std::this_thread::sleep_for(6s);  // both first certificates have expired

  EXPECT_EQ(call(api::node_channel(addr(), client)), renewed_client.node_cert_pem);
  EXPECT_EQ(call(early), client.node_cert_pem);  // its connection, made before, goes on
}

// The same with credentials taken from memory, as before renewal existed: once the server's
// first certificate expired, no new connection can be made. (What the swarm did on day 90.)
TEST_F(WatchedTls, UnwatchedCredentialsFailOnceTheCertificateExpired) {
  const std::string server_dir = root_ + "/server";
  serve(save(server_dir, issue("m1", 3s), false));
  auto client = save(root_ + "/client", issue("m2", 1h), false);
  save(server_dir, issue("m1", 1h), false);  // renewed on disk, but nobody reads it
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(call(api::node_channel(addr(), client)).rfind("error: ", 0), 0u);
}

}  // namespace
}  // namespace shoal::shoald
