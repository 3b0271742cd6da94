// shoal-gossip processes on real loopback sockets: convergence, failure detection, graceful
// leave, and clear failures on bad arguments or a busy port. Every process is killed by its RAII
// guard if a test fails, and every wait has a deadline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "tests/unit/gossip/child_process.h"

namespace shoal::gossip {
namespace {

using testing::ChildProcess;
using namespace std::chrono_literals;

// Each test uses its own 127.0.x.0/24 so that tests may run in parallel.
std::string addr(int subnet, int host, int port = 7946) {
  return "127.0." + std::to_string(subnet) + "." + std::to_string(host) + ":" +
         std::to_string(port);
}

std::unique_ptr<ChildProcess> start_member(const std::string& name, const std::string& bind,
                                           std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {SHOAL_GOSSIP_BIN, "agent", "--name", name,
                                   "--bind",         bind,    "--fast"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ChildProcess>(argv);
}

auto event_about(const std::string& event, const std::string& name) {
  return [event, name](const std::string& line) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    return !j.is_discarded() && j.value("event", "") == event && j.value("name", "") == name;
  };
}

TEST(AgentProcess, FiveMembersConvergeDetectFailureAndLeave) {
  constexpr int kSubnet = 41;
  std::vector<std::unique_ptr<ChildProcess>> members;
  members.push_back(start_member("m0", addr(kSubnet, 1), {"--tag", "role=seed"}));
  std::this_thread::sleep_for(300ms);
  for (int i = 1; i < 5; ++i) {
    members.push_back(
        start_member("m" + std::to_string(i), addr(kSubnet, i + 1), {"--join", addr(kSubnet, 1)}));
  }
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      if (i == j)
        continue;
      auto line =
          members[i]->wait_for_line(event_about("member-join", "m" + std::to_string(j)), 10s);
      ASSERT_TRUE(line) << "m" << i << " never saw m" << j
                        << " join; stderr: " << members[i]->stderr_text();
      if (j == 0) {
        auto event = nlohmann::json::parse(*line);
        EXPECT_EQ(event["addr"], addr(kSubnet, 1));
        EXPECT_EQ(event["tags"]["role"], "seed");
      }
    }
  }
  // SIGKILL: no goodbye, so the others must detect it (fast timers: 1 s probes, suspicion
  // 3-18 s depending on confirmations).
  const auto killed_at = std::chrono::steady_clock::now();
  members[4]->signal(SIGKILL);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(members[i]->wait_for_line(event_about("member-failed", "m4"), 30s)) << i;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 30s);
  // SIGINT: a graceful leave, seen as member-leave, and a clean exit.
  members[3]->signal(SIGINT);
  auto code = members[3]->wait_exit(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(members[i]->wait_for_line(event_about("member-leave", "m3"), 10s)) << i;
    for (const std::string& line : members[i]->lines()) {
      EXPECT_FALSE(event_about("member-failed", "m3")(line)) << line;
    }
  }
  // SIGTERM leaves gracefully too.
  members[2]->signal(SIGTERM);
  EXPECT_EQ(members[2]->wait_exit(10s), 0);
  EXPECT_TRUE(members[0]->wait_for_line(event_about("member-leave", "m2"), 10s));
}

TEST(AgentProcess, KeyRotationWithPrimaryAndSecondaryKeys) {
  constexpr int kSubnet = 44;
  const std::string k1 = "cg8StVXbQJ0gPvMd9o7yrg==", k2 = "AAECAwQFBgcICQoLDA0ODw==";
  // Mid-rotation: a still encrypts with k1, b already with k2; each can open the other's.
  auto a = start_member("a", addr(kSubnet, 1), {"--encrypt", k1, "--encrypt", k2});
  std::this_thread::sleep_for(300ms);
  auto b = start_member("b", addr(kSubnet, 2),
                        {"--encrypt", k2, "--encrypt", k1, "--join", addr(kSubnet, 1)});
  EXPECT_TRUE(a->wait_for_line(event_about("member-join", "b"), 10s)) << a->stderr_text();
  EXPECT_TRUE(b->wait_for_line(event_about("member-join", "a"), 10s)) << b->stderr_text();
  // A member that only has the new key cannot talk to one that only has the old key.
  auto c = start_member("c", addr(kSubnet, 3), {"--encrypt", k1});
  std::this_thread::sleep_for(300ms);
  auto d = start_member("d", addr(kSubnet, 4), {"--encrypt", k2, "--join", addr(kSubnet, 3)});
  auto code = d->wait_exit(10s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_FALSE(c->wait_for_line(event_about("member-join", "d"), 1s));
}

TEST(AgentProcess, BusyPortIsAClearError) {
  constexpr int kSubnet = 42;
  auto first = start_member("first", addr(kSubnet, 1));
  std::this_thread::sleep_for(300ms);
  auto second = start_member("second", addr(kSubnet, 1));
  auto code = second->wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_THAT(second->stderr_text(), ::testing::HasSubstr("Address already in use"));
  EXPECT_THAT(second->stderr_text(), ::testing::HasSubstr(addr(kSubnet, 1)));
}

TEST(AgentProcess, BadArgumentsAreClearErrors) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"agent", "--name", "x", "--bind", "127.0.0.1:0"}, "port must be 1-65535"},
      {{"agent", "--name", "x", "--bind", "nowhere:1"}, "--bind"},
      {{"agent", "--bind", "127.0.0.1:7946"}, "--name is required"},
      {{"agent", "--name", "x", "--bind", "127.0.43.1:7946", "--tag", "novalue"}, "K=V"},
      {{"agent", "--name", "x", "--bind", "127.0.43.1:7946", "--encrypt", "c2hvcnQ="},
       "16, 24 or 32 bytes"},
      {{"agent", "--name", "x", "--bind", "127.0.43.1:7946", "--join", "127.0.43.2:7946"},
       "could not join"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {SHOAL_GOSSIP_BIN};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ChildProcess p(argv);
    auto code = p.wait_exit(15s);
    ASSERT_TRUE(code) << c.message;
    EXPECT_NE(*code, 0) << c.message;
    EXPECT_THAT(p.stderr_text(), ::testing::HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace shoal::gossip
