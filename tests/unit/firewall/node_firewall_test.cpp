// NodeFirewall against a recording runner: what reaches nftables, in how many transactions, and
// that nothing outside Shoal's own table is ever named.
#include "dataplane/firewall/node_firewall.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/assertions.h"

namespace shoal::dataplane::firewall {
namespace {

using ::testing::HasSubstr;
using testing::ip;
using ::testing::Not;

// What the runner saw; `failures` makes the next scripts fail, as nft does on a table it
// cannot take or a set that is gone.
struct Recorded {
  std::vector<std::string> scripts;
  int failures = 0;
};

class RecordingRunner final : public NftRunner {
 public:
  explicit RecordingRunner(Recorded& recorded) : recorded_(recorded) {}
  Status apply(const std::string& script) override {
    recorded_.scripts.push_back(script);
    if (recorded_.failures > 0) {
      --recorded_.failures;
      return sys_error("apply nftables script", "in this netns", 0, "File exists");
    }
    return {};
  }

 private:
  Recorded& recorded_;
};

std::vector<std::string> lines(const std::string& script) {
  std::vector<std::string> out;
  std::istringstream in(script);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

// Every command of every script is about `inet shoal-firewall` and nothing else.
void expect_only_own_table(const std::vector<std::string>& scripts) {
  for (const auto& script : scripts) {
    EXPECT_THAT(script, Not(HasSubstr("ruleset")));
    for (const auto& line : lines(script)) {
      EXPECT_THAT(line, HasSubstr(" inet shoal-firewall")) << line;
    }
  }
}

std::unique_ptr<NodeFirewall> installed(Recorded& recorded) {
  auto firewall =
      NodeFirewall::install(std::make_unique<RecordingRunner>(recorded), FirewallConfig{});
  EXPECT_TRUE(firewall.ok()) << firewall.error().message();
  return firewall.ok() ? std::move(*firewall) : nullptr;
}

TEST(NodeFirewall, InstallsItsTableInOneTransactionAndKeepsTheSetOfAnEarlierRun) {
  Recorded k;
  ASSERT_TRUE(installed(k));
  ASSERT_EQ(k.scripts.size(), 1u);
  const std::string& script = k.scripts[0];
  // Declared with "add" (kept when present), refilled after a flush of its own chain.
  EXPECT_THAT(script, HasSubstr("add set inet shoal-firewall swarm_nodes { type ipv4_addr; }"));
  EXPECT_THAT(script, HasSubstr("flush chain inet shoal-firewall input"));
  EXPECT_THAT(script, Not(HasSubstr("flush set inet shoal-firewall swarm_nodes")))
      << "a restart would drop overlay traffic until the manager answers";
  EXPECT_THAT(script, HasSubstr("udp dport 4789 ip saddr != @swarm_nodes counter drop"));
  EXPECT_THAT(script, HasSubstr("add element inet shoal-firewall task_links { \"ingress0\" }"));
  EXPECT_THAT(script, HasSubstr("iifname @task_links ct state established,related accept"));
  EXPECT_THAT(script, HasSubstr("iifname @task_links counter reject with icmpx admin-prohibited"));
  expect_only_own_table(k.scripts);
}

TEST(NodeFirewall, ATableOfAnotherLayoutIsReplacedWholeInOneTransaction) {
  Recorded k;
  k.failures = 1;
  ASSERT_TRUE(installed(k));
  ASSERT_EQ(k.scripts.size(), 2u);
  EXPECT_EQ(
      k.scripts[1].rfind("add table inet shoal-firewall\ndelete table inet shoal-firewall\n", 0),
      0u)
      << k.scripts[1];
  EXPECT_THAT(k.scripts[1], HasSubstr(k.scripts[0])) << "the new table in the same transaction";
  expect_only_own_table(k.scripts);
}

TEST(NodeFirewall, TheSourcesAreReplacedAtomicallyAndOnlyWhenTheyChange) {
  Recorded k;
  auto firewall = installed(k);
  ASSERT_TRUE(firewall);
  ASSERT_OK(firewall->set_overlay_sources({ip("198.51.100.12"), ip("198.51.100.11")}));
  ASSERT_EQ(k.scripts.size(), 2u);
  EXPECT_EQ(k.scripts[1],
            "flush set inet shoal-firewall swarm_nodes\n"
            "add element inet shoal-firewall swarm_nodes { 198.51.100.11, 198.51.100.12 }\n");
  ASSERT_OK(firewall->set_overlay_sources({ip("198.51.100.11"), ip("198.51.100.12")}));
  EXPECT_EQ(k.scripts.size(), 2u) << "an unchanged list reached the kernel";
  ASSERT_OK(firewall->set_overlay_sources({}));
  ASSERT_EQ(k.scripts.size(), 3u);
  EXPECT_EQ(k.scripts[2], "flush set inet shoal-firewall swarm_nodes\n");
  expect_only_own_table(k.scripts);
}

TEST(NodeFirewall, ATableRemovedUnderItIsMadeAgainWithTheSources) {
  Recorded k;
  auto firewall = installed(k);
  ASSERT_TRUE(firewall);
  k.failures = 1;  // someone ran `nft flush ruleset`: the set is gone
  ASSERT_OK(firewall->set_overlay_sources({ip("198.51.100.12")}));
  ASSERT_EQ(k.scripts.size(), 3u);
  EXPECT_EQ(k.scripts[2], k.scripts[0] + k.scripts[1]) << "table and set in one transaction";
  k.failures = 2;  // and a kernel that refuses both: the error reaches the caller
  auto failed = firewall->set_overlay_sources({ip("198.51.100.13")});
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.error().message(), HasSubstr("apply nftables script"));
  // Not taken as applied: the same list is tried again.
  ASSERT_OK(firewall->set_overlay_sources({ip("198.51.100.13")}));
  EXPECT_EQ(k.scripts.size(), 6u);
}

TEST(NodeFirewall, RemoveDeletesOnlyItsTable) {
  Recorded k;
  auto firewall = installed(k);
  ASSERT_TRUE(firewall);
  ASSERT_OK(firewall->remove());
  ASSERT_EQ(k.scripts.size(), 2u);
  EXPECT_EQ(k.scripts[1], "add table inet shoal-firewall\ndelete table inet shoal-firewall\n");
  expect_only_own_table(k.scripts);
}

TEST(NodeFirewall, ABadConfigIsRefusedBeforeTheKernelHearsOfIt) {
  std::vector<FirewallConfig> bad(4);
  bad[0].vxlan_port = 0;
  bad[1].task_links = {"ingress0\" }; flush"};
  bad[2].task_links = {""};
  bad[3].task_links = {"a-very-long-name0"};
  for (const FirewallConfig& config : bad) {
    Recorded k;
    auto firewall = NodeFirewall::install(std::make_unique<RecordingRunner>(k), config);
    ASSERT_FALSE(firewall.ok());
    EXPECT_THAT(firewall.error().message(), HasSubstr("node firewall"));
    EXPECT_TRUE(k.scripts.empty());
  }
}

}  // namespace
}  // namespace shoal::dataplane::firewall
