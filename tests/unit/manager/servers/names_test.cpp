// Names a node cannot forge and references that cannot silently pick the wrong object (the
// review's finding #5), the join address fixed to the connection (#12) and the Ca service's
// rate limit (#14): hostname validation, escaping for output, the ambiguity rule, and joins
// through the CaService as they arrive from a given address.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/hostname.h"
#include "common/printable.h"
#include "control/manager/access/join_limiter.h"
#include "control/manager/ca/ca_service.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/lookup.h"
#include "control/manager/store/memory_store.h"
#include "control/pki/identity.h"
#include "tests/support/assertions.h"
#include "tests/support/fake_control_hooks.h"

namespace shoal::manager {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---- hostnames ----

std::string refusal(std::string_view name) {
  auto valid = validate_hostname(name);
  return valid.ok() ? std::string() : valid.error().message();
}

TEST(Hostname, TakesRfc1123Names) {
  for (const char* name : {"h1", "H3", "node-7", "a", "host.example.com", "0abc", "x.1y"}) {
    EXPECT_EQ(refusal(name), "") << name;
  }
  EXPECT_EQ(refusal(std::string(63, 'a') + "." + std::string(63, 'b')), "");
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  EXPECT_EQ(refusal(longest), "");
}

TEST(Hostname, RefusesWhatTheReviewSentAndSaysWhy) {
  // Terminal escapes: named, and the name in the error is itself escaped.
  auto escapes = refusal("\x1b]0;owned-title\a\x1b[2J\x1b[31mh2");
  EXPECT_THAT(escapes, HasSubstr("contains a control character (0x1b) at byte 0"));
  EXPECT_EQ(escapes.find('\x1b'), std::string::npos) << escapes;
  // 3 MB: the length is named, and the error is short.
  auto huge = refusal(std::string(3'000'000, 'a'));
  EXPECT_THAT(huge, HasSubstr("is 3000000 bytes long: at most 253"));
  EXPECT_LT(huge.size(), 300u);
  EXPECT_THAT(refusal(""), HasSubstr("is empty"));
  EXPECT_THAT(refusal("a_b"), HasSubstr("contains '_' at byte 1"));
  EXPECT_THAT(refusal("h 1"), HasSubstr("contains ' ' at byte 1"));
  EXPECT_THAT(refusal("h\xc3\xa9"), HasSubstr("a character outside ASCII at byte 1"));
  EXPECT_THAT(refusal("a..b"), HasSubstr("empty label at byte 2"));
  EXPECT_THAT(refusal("a.b."), HasSubstr("empty label at byte 4"));
  EXPECT_THAT(refusal("-a"), HasSubstr("beginning or ending with '-'"));
  EXPECT_THAT(refusal("a.b-"), HasSubstr("beginning or ending with '-'"));
  EXPECT_THAT(refusal(std::string(64, 'a')), HasSubstr("label of 64 bytes at byte 0: at most 63"));
  EXPECT_THAT(refusal(std::string(254, 'a')), HasSubstr("254 bytes long"));
}

// ---- escaping ----

TEST(Printable, EscapesControlsKeepsText) {
  EXPECT_EQ(printable("plain h1 \\_ web.1 caf\xc3\xa9"), "plain h1 \\_ web.1 caf\xc3\xa9");
  EXPECT_EQ(printable("a\x1b[2Jb\x07\x7f"), "a\\x1b[2Jb\\x07\\x7f");
  EXPECT_EQ(printable("a\nb\tc\r"), "a\\nb\\tc\\r");
  EXPECT_EQ(printable("a\nb", {.keep_newlines = true}), "a\nb");
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\u009b31m");  // C1 CSI
  EXPECT_EQ(printable("\xe2\x80\xae"
                      "txt"),
            "\\u202etxt");                                  // right-to-left override
  EXPECT_EQ(printable("\xff\xc0\xaf"), "\\xff\\xc0\\xaf");  // not UTF-8, overlong
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(Printable, CutsAtALimitNamingTheLength) {
  EXPECT_EQ(printable(std::string(10, 'a'), {.max_bytes = 4}), "aaaa...(10 bytes)");
  EXPECT_EQ(printable("\x1b\x1b", {.max_bytes = 5}), "\\x1b...(2 bytes)");  // not mid-escape
  EXPECT_EQ(printable_for_log(std::string(3'000'000, 'x')),
            std::string(256, 'x') + "...(3000000 bytes)");
}

// ---- ambiguous references ----

manager::Node node(std::string id, std::string hostname) {
  manager::Node n;
  n.id = std::move(id);
  n.hostname = std::move(hostname);
  return n;
}

// The review's repro: worker h2 renamed itself h3; `node promote h3` promoted the impostor.
TEST(Lookup, TwoNodesOfOneNameAreAmbiguousAsInDocker) {
  manager::MemoryStore store;
  ASSERT_OK(store.update([&](manager::WriteTx& tx) -> Status {
    SHOAL_TRY(tx.create(node("010zwou", "h3")));  // the impostor, first in id order
    SHOAL_TRY(tx.create(node("7kq3real", "h3")));
    return tx.create(node("9h1", "h1"));
  }));
  store.view([](const manager::ReadTx& tx) {
    auto h3 = find_node(tx, "h3");
    ASSERT_FALSE(h3);
    EXPECT_EQ(h3.refusal().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(h3.refusal().error_message(), "node h3 is ambiguous (2 matches found)");
    // The full id still names one node; so does a unique prefix.
    EXPECT_EQ(find_node(tx, "7kq3real")->hostname, "h3");
    EXPECT_EQ(find_node(tx, "7k")->id, "7kq3real");
    EXPECT_EQ(find_node(tx, "h1")->id, "9h1");
    auto missing = find_node(tx, "h9");
    EXPECT_EQ(missing.refusal().error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(missing.refusal().error_message(), "node h9 not found");
  });
}

TEST(Lookup, AmbiguousPrefixesAreRefusedForEveryKind) {
  manager::MemoryStore store;
  ASSERT_OK(store.update([&](manager::WriteTx& tx) -> Status {
    for (auto [id, name] : {std::pair{"ab1", "one"}, std::pair{"ab2", "two"}}) {
      manager::Network network;
      network.id = id;
      network.name = name;
      SHOAL_TRY(tx.create(network));
      manager::Service service;
      service.id = id;
      service.spec.name = name;
      service.spec.command = {"/bin/true"};
      SHOAL_TRY(tx.create(service));
      manager::Config config;
      config.id = id;
      config.name = name;
      SHOAL_TRY(tx.create(config));
      SHOAL_TRY(tx.create(node(id, name)));
    }
    return Status{};
  }));
  store.view([](const manager::ReadTx& tx) {
    EXPECT_EQ(find_network(tx, "ab").refusal().error_message(),
              "network ab is ambiguous (2 matches found)");
    EXPECT_EQ(find_service(tx, "ab").refusal().error_message(),
              "service ab is ambiguous (2 matches found)");
    EXPECT_EQ(find_config(tx, "ab").refusal().error_message(),
              "config ab is ambiguous (2 matches found)");
    EXPECT_EQ(find_node(tx, "ab").refusal().error_message(),
              "node ab is ambiguous (2 matches found)");
    EXPECT_EQ(find_config(tx, "ab2")->name, "two");
  });
}

// ---- the join limiter ----

TEST(JoinLimiter, FailuresEmptyABucketThatRefillsWithTime) {
  JoinLimiter limiter({.burst = 3, .refill = 1000ms, .max_sources = 16});
  SteadyTime t0{};
  std::chrono::milliseconds retry{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.allow("203.0.113.9", t0, &retry)) << i;
    limiter.failed("203.0.113.9", t0);
  }
  EXPECT_FALSE(limiter.allow("203.0.113.9", t0, &retry));
  EXPECT_EQ(retry, 1000ms);
  EXPECT_TRUE(limiter.allow("203.0.113.10", t0, &retry));  // another source is untouched
  EXPECT_FALSE(limiter.allow("203.0.113.9", t0 + 999ms, &retry));
  EXPECT_EQ(retry, 1ms);
  EXPECT_TRUE(limiter.allow("203.0.113.9", t0 + 1000ms, &retry));  // one more, then none
  limiter.failed("203.0.113.9", t0 + 1000ms);
  EXPECT_FALSE(limiter.allow("203.0.113.9", t0 + 1000ms, &retry));
  EXPECT_TRUE(limiter.allow("203.0.113.9", t0 + 60s, &retry));
}

TEST(JoinLimiter, RemembersABoundedNumberOfSources) {
  JoinLimiter limiter({.burst = 1, .refill = 1h, .max_sources = 8});
  SteadyTime t0{};
  for (int i = 0; i < 100; ++i)
    limiter.failed("198.51.100." + std::to_string(i), t0 + std::chrono::milliseconds(i));
  EXPECT_LE(limiter.sources(), 8u);
  std::chrono::milliseconds retry{0};
  EXPECT_FALSE(limiter.allow("198.51.100.99", t0 + 100ms, &retry));  // the newest are kept
}

TEST(LogThrottle, OneLinePerIntervalThenASummary) {
  LogThrottle throttle(10s);
  SteadyTime t0{};
  EXPECT_EQ(throttle.admit("refused 1", t0), "refused 1");
  for (int i = 0; i < 999; ++i)
    EXPECT_FALSE(throttle.admit("refused", t0 + 1s));
  auto next = throttle.admit("refused 1001", t0 + 11s);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, "refused 1001 (999 more like it since the last one logged)");
}

TEST(PeerIp, ReadsGrpcPeers) {
  EXPECT_EQ(peer_ip("ipv4:10.213.0.14:43210"), "10.213.0.14");
  EXPECT_EQ(peer_ip("ipv6:[::ffff:10.213.0.14]:43210"), "10.213.0.14");
  EXPECT_EQ(peer_ip("ipv6:%5B::ffff:10.213.0.14%5D:43210"), "10.213.0.14");
  EXPECT_EQ(peer_ip("ipv6:[2001:db8::1]:2377"), "2001:db8::1");
  EXPECT_EQ(peer_ip("unix:/run/shoald.sock"), "");
  EXPECT_EQ(peer_ip(""), "");
}

// ---- joins as the CaService sees them ----

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shoal-join-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    secrets_ = std::shared_ptr<ClusterSecrets>(ClusterSecrets::create(dir_, "c1").value());
    auto manager = ManagerRuntime::start(ManagerOptions{});
    ASSERT_OK(manager);
    runtime_ = std::move(*manager);
    auto context = std::make_shared<ManagerContext>();
    context->manager = runtime_.get();
    context->runtime = runtime_;
    context->secrets = secrets_;
    context->hooks = &hooks_;
    context_ = context;
    auto key = pki::make_key_and_csr();
    ASSERT_OK(key);
    csr_ = key->csr_pem;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  CaService ca(JoinLimits limits = {}) {
    return CaService([this] { return context_; }, secrets_->ca()->cert_pem(), limits);
  }
  api::IssueNodeCertificateRequest request(const std::string& hostname, const std::string& addr,
                                           const std::string& token = "") {
    api::IssueNodeCertificateRequest r;
    r.set_csr_pem(csr_);
    r.set_hostname(hostname);
    r.set_addr(addr);
    r.set_token(token.empty() ? secrets_->tokens().worker : token);
    return r;
  }
  size_t node_count() {
    size_t count = 0;
    runtime_->store().view([&](const manager::ReadTx& tx) { count = tx.nodes().size(); });
    return count;
  }

  std::string dir_;
  shoal::testing::FakeControlHooks hooks_;
  std::shared_ptr<ClusterSecrets> secrets_;
  std::shared_ptr<ManagerRuntime> runtime_;
  std::shared_ptr<const ManagerContext> context_;
  std::string csr_;
};

TEST_F(JoinTest, AHostileHostnameIsRefusedAndNoNodeIsMade) {
  auto service = ca();
  api::IssueNodeCertificateResponse response;
  auto escapes = service.join("198.51.100.12", false,
                              request("\x1b]0;owned\a\x1b[2Jh2", "198.51.100.12"), response);
  EXPECT_EQ(escapes.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(escapes.error_message(), HasSubstr("control character (0x1b)"));
  auto huge = service.join("198.51.100.12", false,
                           request(std::string(3'000'000, 'a'), "198.51.100.12"), response);
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(huge.error_message(), HasSubstr("3000000 bytes long"));
  EXPECT_EQ(node_count(), 0u);
  auto good = service.join("198.51.100.12", false, request("h2", "198.51.100.12"), response);
  ASSERT_TRUE(good.ok()) << good.error_message();
  EXPECT_EQ(node_count(), 1u);
}

// The review's finding #12: the join's advertise address was never checked against the
// connection, so a node could have the swarm send its overlay traffic to another machine.
TEST_F(JoinTest, TheAdvertiseAddressMustBeTheAddressTheJoinCameFrom) {
  auto service = ca();
  api::IssueNodeCertificateResponse response;
  auto elsewhere = service.join("198.51.100.12", false, request("h2", "198.51.100.99"), response);
  EXPECT_EQ(elsewhere.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(elsewhere.error_message(),
              HasSubstr("advertise address 198.51.100.99 is not the address this join came "
                        "from (198.51.100.12)"));
  auto unknown = service.join("", false, request("h2", "198.51.100.12"), response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto not_ip = service.join("198.51.100.12", false, request("h2", "h2.example"), response);
  EXPECT_THAT(not_ip.error_message(), HasSubstr("is not an IPv4 address"));
  EXPECT_EQ(node_count(), 0u);
  auto same = service.join("198.51.100.12", false, request("h2", "198.51.100.12"), response);
  ASSERT_TRUE(same.ok()) << same.error_message();
  runtime_->store().view([&](const manager::ReadTx& tx) {
    EXPECT_EQ(tx.get_node(response.node_id())->addr.str(), "198.51.100.12");
  });
}

// The review's finding #14: 1,773 wrong tokens a second, each one answered and logged.
TEST_F(JoinTest, FailedJoinsFromOneSourceAreRefusedBeyondTheBucket) {
  auto service = ca({.burst = 5, .refill = 1h, .max_sources = 64});
  api::IssueNodeCertificateResponse response;
  std::string wrong = secrets_->tokens().worker;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  for (int i = 0; i < 5; ++i) {
    auto denied = service.join("203.0.113.7", false, request("h9", "203.0.113.7", wrong), response);
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << i;
  }
  // Beyond the bucket: refused before the token is even looked at, a valid one included.
  auto exhausted =
      service.join("203.0.113.7", false, request("h9", "203.0.113.7", wrong), response);
  EXPECT_EQ(exhausted.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(exhausted.error_message(),
              HasSubstr("too many failed join attempts from 203.0.113.7"));
  auto valid = service.join("203.0.113.7", false, request("h9", "203.0.113.7"), response);
  EXPECT_EQ(valid.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another source joins; successes never spend tokens.
  for (int i = 0; i < 8; ++i) {
    auto ok = service.join("198.51.100.12", false, request("h2", "198.51.100.12"), response);
    ASSERT_TRUE(ok.ok()) << i << ": " << ok.error_message();
  }
}

// A join forwarded by a follower is not forwarded again (two managers with different views of
// the leadership cannot bounce it), and a manager that leads nothing says so.
TEST_F(JoinTest, AForwardedJoinIsNotForwardedAgain) {
  auto follower = std::make_shared<ManagerContext>();
  follower->leader_addr = "198.51.100.1:2377";
  context_ = follower;
  auto service = ca();
  api::IssueNodeCertificateResponse response;
  auto again = service.join("198.51.100.12", true, request("h2", "198.51.100.12"), response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(again.error_message(), HasSubstr("no quorum"));
}

}  // namespace
}  // namespace shoal::manager
