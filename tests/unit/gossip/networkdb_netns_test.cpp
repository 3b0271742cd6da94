// Replicated tables on real sockets between simulated hosts (testbed namespaces on an underlay
// bridge): one `shoal-gossip table-agent` per host, encrypted as swarm's gossip. With 30% of the
// gossip packets (UDP 7946) dropped by an nftables `numgen random` rule inside every host, every
// member's table still converges to the same creates, updates and deletes once anti-entropy (bulk
// sync every 2 s) ran; a host cut off completely (nftables drop on its uplink) while entries change
// on both sides converges after the cut is healed. Rules live only in the hosts' namespaces,
// which the testbed deletes, together with every process in them, even when a test fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/support/testbed.h"
#include "tests/unit/gossip/child_process.h"

namespace shoal::gossip {
namespace {

using namespace std::chrono_literals;
using shoal::testing::run_in_ns;
using shoal::testing::Testbed;
using Table = std::map<std::string, std::string>;

constexpr int kHosts = 5;
constexpr const char* kKey = "WlpaWlpaWlpaWlpaWlpaWg==";  // AES-128, as swarm's gossip keys

class TestEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { shoal::testing::clean_stale_runs(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new TestEnvironment);

auto is_event(const std::string& event) {
  return [event](const std::string& line) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    return !j.is_discarded() && j.value("event", "") == event;
  };
}

struct Host {
  std::string ns;
  std::string addr;  // IP:7946 on the underlay
  std::unique_ptr<testing::ChildProcess> agent;
};

class NetworkDbNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "namespace tests create namespaces and need root";
    auto bed = Testbed::create(kHosts);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    for (int h = 1; h <= kHosts; ++h) {
      Host host{bed_->host_ns(h), bed_->host_ip(h).str() + ":7946", nullptr};
      std::vector<std::string> argv = {"/usr/bin/env",
                                       "ip",
                                       "netns",
                                       "exec",
                                       host.ns,
                                       SHOAL_GOSSIP_BIN,
                                       "table-agent",
                                       "--name",
                                       "h" + std::to_string(h),
                                       "--bind",
                                       host.addr,
                                       "--encrypt",
                                       kKey,
                                       "--fast",
                                       "--sync-interval",
                                       "2",
                                       "--network",
                                       "net-1"};
      if (h > 1) {
        argv.push_back("--join");
        argv.push_back(hosts_[0].addr);
      }
      host.agent = std::make_unique<testing::ChildProcess>(argv);
      hosts_.push_back(std::move(host));
      if (h == 1)
        std::this_thread::sleep_for(300ms);  // the seed binds first
    }
  }

  // Processes first, then the namespaces (the testbed's teardown kills whatever is left).
  void TearDown() override {
    hosts_.clear();
    bed_.reset();
  }

  ::testing::AssertionResult nft(int host, const std::string& command) {
    auto r = run_in_ns(hosts_[host].ns, {"nft", command});
    if (!r.ok())
      return ::testing::AssertionFailure() << r.error().message();
    if (r->exit_code != 0)
      return ::testing::AssertionFailure() << "nft " << command << ": " << r->output;
    return ::testing::AssertionSuccess();
  }

  // 30% of the UDP gossip arriving at every host is dropped.
  void add_packet_loss() {
    for (int h = 0; h < kHosts; ++h) {
      ASSERT_TRUE(nft(h, "add table inet shoalloss"));
      ASSERT_TRUE(nft(h, "add chain inet shoalloss input { type filter hook input priority 0 ; }"));
      ASSERT_TRUE(
          nft(h,
              "add rule inet shoalloss input udp dport 7946 numgen random mod 10 < 3 counter "
              "drop"));
    }
  }

  uint64_t packets_dropped(int host) {
    auto r = run_in_ns(hosts_[host].ns, {"nft", "list table inet shoalloss"});
    std::smatch m;
    if (r.ok() && std::regex_search(r->output, m, std::regex("packets ([0-9]+)")))
      return std::stoull(m[1]);
    return 0;
  }

  void partition(int host, bool cut) {
    if (cut) {
      ASSERT_TRUE(nft(host, "add table inet shoalpart"));
      ASSERT_TRUE(
          nft(host, "add chain inet shoalpart in { type filter hook input priority -10 ; }"));
      ASSERT_TRUE(
          nft(host, "add chain inet shoalpart out { type filter hook output priority -10 ; }"));
      const std::string uplink = bed_->host_uplink(host + 1);  // hosts_ from 0, the bed from 1
      ASSERT_TRUE(nft(host, "add rule inet shoalpart in iifname " + uplink + " drop"));
      ASSERT_TRUE(nft(host, "add rule inet shoalpart out oifname " + uplink + " drop"));
    } else {
      ASSERT_TRUE(nft(host, "delete table inet shoalpart"));
    }
  }

  // Sends a command and waits for its "ok" (commands run in order on the agent).
  ::testing::AssertionResult command(int host, const std::string& line) {
    testing::ChildProcess& p = *hosts_[host].agent;
    const size_t from = p.lines().size();
    if (!p.write_line(line))
      return ::testing::AssertionFailure() << "h" << host + 1 << " is gone: " << p.stderr_text();
    auto reply = p.wait_for_line(
        [](const std::string& l) { return is_event("ok")(l) || is_event("error")(l); }, 5s, from);
    if (!reply || !is_event("ok")(*reply))
      return ::testing::AssertionFailure()
             << "h" << host + 1 << " " << line << ": " << reply.value_or("no reply");
    return ::testing::AssertionSuccess();
  }

  std::optional<Table> dump(int host) {
    testing::ChildProcess& p = *hosts_[host].agent;
    const size_t from = p.lines().size();
    if (!p.write_line("dump peers net-1"))
      return std::nullopt;
    auto line = p.wait_for_line(is_event("dump"), 5s, from);
    if (!line)
      return std::nullopt;
    return nlohmann::json::parse(*line)["entries"].get<Table>();
  }

  std::optional<int> alive(int host) {
    testing::ChildProcess& p = *hosts_[host].agent;
    const size_t from = p.lines().size();
    if (!p.write_line("status"))
      return std::nullopt;
    auto line = p.wait_for_line(is_event("status"), 5s, from);
    if (!line)
      return std::nullopt;
    return nlohmann::json::parse(*line)["alive"].get<int>();
  }

  // Polls until every host in `which` holds exactly `expected`; describes the last views if not.
  ::testing::AssertionResult converge(const Table& expected, const std::vector<int>& which,
                                      std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string views;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      views.clear();
      for (int h : which) {
        auto table = dump(h);
        if (table != expected) {
          all = false;
          views += "\n  h" + std::to_string(h + 1) + ": " +
                   (table ? nlohmann::json(*table).dump() : std::string("no answer"));
        }
      }
      if (all)
        return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(500ms);
    }
    return ::testing::AssertionFailure()
           << "expected " << nlohmann::json(expected).dump() << "; differing:" << views;
  }

  ::testing::AssertionResult all_alive(int count, const std::vector<int>& which,
                                       std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (int h : which)
        all = all && alive(h) == count;
      if (all)
        return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(300ms);
    }
    return ::testing::AssertionFailure() << "not every member sees " << count << " alive";
  }

  std::unique_ptr<Testbed> bed_;
  std::vector<Host> hosts_;
};

std::string key(int host, int i) {
  return "h" + std::to_string(host + 1) + "-ep" + std::to_string(i);
}

TEST_F(NetworkDbNetns, TablesConvergeUnderThirtyPercentLossAndAfterAPartition) {
  const std::vector<int> everyone = {0, 1, 2, 3, 4};
  ASSERT_TRUE(all_alive(kHosts, everyone, 15s));
  add_packet_loss();
  if (HasFatalFailure())
    return;

  // Creates, updates and deletes on every host while 30% of the gossip is lost.
  Table expected;
  for (int h = 0; h < kHosts; ++h) {
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(command(h, "create peers net-1 " + key(h, i) + " v1-" + key(h, i)));
      expected[key(h, i)] = "v1-" + key(h, i);
    }
  }
  for (int h = 0; h < kHosts; ++h) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(command(h, "update peers net-1 " + key(h, i) + " v2-" + key(h, i)));
      expected[key(h, i)] = "v2-" + key(h, i);
    }
    for (int i = 6; i < 8; ++i) {
      ASSERT_TRUE(command(h, "delete peers net-1 " + key(h, i)));
      expected.erase(key(h, i));
    }
  }
  EXPECT_TRUE(converge(expected, everyone, 30s));
  uint64_t dropped = 0;
  for (int h = 0; h < kHosts; ++h)
    dropped += packets_dropped(h);
  EXPECT_GT(dropped, 0u) << "the loss rule never matched";

  // h5 is cut off; entries change on both sides.
  const int cut = 4;
  const std::vector<int> rest = {0, 1, 2, 3};
  partition(cut, true);
  if (HasFatalFailure())
    return;
  ASSERT_TRUE(all_alive(kHosts - 1, rest, 30s)) << "h5 was never declared failed";
  Table without_cut = expected;
  std::erase_if(without_cut, [](const auto& kv) { return kv.first.starts_with("h5-"); });
  // Entries of a failed owner are hidden from the others.
  EXPECT_TRUE(converge(without_cut, rest, 15s));
  ASSERT_TRUE(command(0, "create peers net-1 h1-during-cut made-while-apart"));
  expected["h1-during-cut"] = "made-while-apart";
  ASSERT_TRUE(command(1, "update peers net-1 " + key(1, 3) + " v3-while-apart"));
  expected[key(1, 3)] = "v3-while-apart";
  ASSERT_TRUE(command(2, "delete peers net-1 " + key(2, 0)));
  expected.erase(key(2, 0));
  ASSERT_TRUE(command(cut, "create peers net-1 h5-during-cut cut-off"));
  expected["h5-during-cut"] = "cut-off";
  ASSERT_TRUE(command(cut, "delete peers net-1 " + key(cut, 1)));
  expected.erase(key(cut, 1));
  std::this_thread::sleep_for(3s);  // gossip on each side gives up on the other

  partition(cut, false);
  if (HasFatalFailure())
    return;
  EXPECT_TRUE(all_alive(kHosts, everyone, 30s));
  EXPECT_TRUE(converge(expected, everyone, 30s));
}

}  // namespace
}  // namespace shoal::gossip
