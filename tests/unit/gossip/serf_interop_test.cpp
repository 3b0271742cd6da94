// Interoperability with stock `serf agent` processes (Debian serf 0.9.4 on memberlist 0.2.2) on
// loopback: Serf lists the Shoal member with its tags and sees it fail or leave; Shoal reports
// Serf members joining and failing; encryption works with the same key and isolates different
// keys. Skipped when /usr/bin/serf is not installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/unit/gossip/child_process.h"

namespace shoal::gossip {
namespace {

using testing::ChildProcess;
using namespace std::chrono_literals;

constexpr const char* kSerf = "/usr/bin/serf";

std::string ip(int subnet, int host) {
  return "127.0." + std::to_string(subnet) + "." + std::to_string(host);
}

class SerfInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kSerf, X_OK) != 0)
      GTEST_SKIP() << "serf is not installed";
  }

  // A serf agent bound to ip:7946 with its RPC on ip:7373; waits until its RPC answers.
  std::unique_ptr<ChildProcess> start_serf(const std::string& name, const std::string& host,
                                           std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {kSerf,        "agent",        "-node",     name,
                                     "-bind",      host + ":7946", "-rpc-addr", host + ":7373",
                                     "-log-level", "warn"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto serf = std::make_unique<ChildProcess>(argv);
    for (int i = 0; i < 50 && !members(host); ++i)
      std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(members(host)) << "serf " << name << " did not start: " << serf->stderr_text();
    return serf;
  }

  std::unique_ptr<ChildProcess> start_shoal(const std::string& name, const std::string& host,
                                            std::vector<std::string> extra) {
    std::vector<std::string> argv = {SHOAL_GOSSIP_BIN, "agent",       "--name", name,
                                     "--bind",         host + ":7946"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv);
  }

  // `serf members -format json` through the agent's RPC; nullopt if it does not answer.
  std::optional<nlohmann::json> members(const std::string& host) {
    ChildProcess cli({kSerf, "members", "-rpc-addr", host + ":7373", "-format", "json"});
    auto code = cli.wait_exit(5s);
    if (!code || *code != 0)
      return std::nullopt;
    std::string text;
    for (const std::string& l : cli.lines())
      text += l;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded())
      return std::nullopt;
    return j;
  }

  // Status of `name` as the serf agent at `host` lists it ("" if not listed).
  std::string status_of(const std::string& host, const std::string& name,
                        nlohmann::json* tags = nullptr) {
    auto j = members(host);
    if (!j)
      return "";
    for (const auto& m : (*j)["members"]) {
      if (m.value("name", "") == name) {
        if (tags)
          *tags = m["tags"];
        return m.value("status", "");
      }
    }
    return "";
  }

  bool eventually_status(const std::string& host, const std::string& name,
                         const std::string& status, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (status_of(host, name) == status)
        return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  static auto event_about(const std::string& event, const std::string& name) {
    return [event, name](const std::string& line) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      return !j.is_discarded() && j.value("event", "") == event && j.value("name", "") == name;
    };
  }

  // Two serf agents and one Shoal member joined to the first; checks both directions.
  void run_join_fail_leave(int subnet, std::vector<std::string> serf_extra,
                           std::vector<std::string> shoal_extra) {
    const std::string s1 = ip(subnet, 1), s2 = ip(subnet, 2), sh = ip(subnet, 3);
    auto serf1 = start_serf("serf-1", s1, serf_extra);
    auto serf2_args = serf_extra;
    serf2_args.insert(serf2_args.end(), {"-join", s1 + ":7946"});
    auto serf2 = start_serf("serf-2", s2, serf2_args);
    ASSERT_TRUE(eventually_status(s1, "serf-2", "alive", 10s));

    shoal_extra.insert(shoal_extra.end(),
                       {"--join", s1 + ":7946", "--tag", "role=shoal", "--tag", "zone=z1"});
    auto shoal = start_shoal("shoal-1", sh, shoal_extra);
    ASSERT_TRUE(shoal->wait_for_line(event_about("member-join", "serf-1"), 10s))
        << shoal->stderr_text();
    ASSERT_TRUE(shoal->wait_for_line(event_about("member-join", "serf-2"), 10s));
    // Both serf agents list the Shoal member alive, with its tags.
    for (const std::string& host : {s1, s2}) {
      ASSERT_TRUE(eventually_status(host, "shoal-1", "alive", 10s)) << host;
      nlohmann::json tags;
      status_of(host, "shoal-1", &tags);
      EXPECT_EQ(tags, (nlohmann::json{{"role", "shoal"}, {"zone", "z1"}}));
    }

    // A serf agent killed without leaving: Shoal reports it failed.
    serf2->signal(SIGKILL);
    EXPECT_TRUE(shoal->wait_for_line(event_about("member-failed", "serf-2"), 30s));

    // SIGINT on Shoal: a graceful leave, which serf records as "left", not "failed".
    shoal->signal(SIGINT);
    EXPECT_EQ(shoal->wait_exit(15s), 0);
    EXPECT_TRUE(eventually_status(s1, "shoal-1", "left", 10s)) << status_of(s1, "shoal-1");
  }
};

TEST_F(SerfInterop, ShoalJoinsSerfClusterFailsAndLeaves) {
  run_join_fail_leave(51, {}, {});
}

TEST_F(SerfInterop, SameEncryptionKeyInteroperates) {
  const std::string key = "cg8StVXbQJ0gPvMd9o7yrg==";
  run_join_fail_leave(52, {"-encrypt", key}, {"--encrypt", key});
}

TEST_F(SerfInterop, KilledShoalMemberIsMarkedFailedBySerf) {
  const std::string s1 = ip(53, 1), sh = ip(53, 2);
  auto serf1 = start_serf("serf-1", s1);
  auto shoal = start_shoal("shoal-1", sh, {"--join", s1 + ":7946"});
  ASSERT_TRUE(eventually_status(s1, "shoal-1", "alive", 10s));
  shoal->signal(SIGKILL);
  EXPECT_TRUE(eventually_status(s1, "shoal-1", "failed", 30s)) << status_of(s1, "shoal-1");
}

TEST_F(SerfInterop, DifferentKeysNeverSeeEachOther) {
  const std::string s1 = ip(54, 1), sh = ip(54, 2), sh2 = ip(54, 3);
  auto serf1 = start_serf("serf-1", s1, {"-encrypt", "cg8StVXbQJ0gPvMd9o7yrg=="});
  // Joining through serf with the wrong key fails outright...
  auto shoal =
      start_shoal("shoal-1", sh, {"--join", s1 + ":7946", "--encrypt", "AAAAAAAAAAAAAAAAAAAAAA=="});
  auto code = shoal->wait_exit(15s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_THAT(shoal->stderr_text(), ::testing::HasSubstr("could not join"));
  // ...and a Shoal member without a join, reachable only by serf joining it, stays invisible.
  auto lone = start_shoal("shoal-2", sh2, {"--encrypt", "AAAAAAAAAAAAAAAAAAAAAA=="});
  std::this_thread::sleep_for(300ms);
  ChildProcess join({kSerf, "join", "-rpc-addr", s1 + ":7373", sh2 + ":7946"});
  auto join_code = join.wait_exit(15s);
  ASSERT_TRUE(join_code);
  EXPECT_NE(*join_code, 0);
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(status_of(s1, "shoal-1"), "");
  EXPECT_EQ(status_of(s1, "shoal-2"), "");
  EXPECT_FALSE(lone->wait_for_line(event_about("member-join", "serf-1"), 1s));
}

}  // namespace
}  // namespace shoal::gossip
