// Names a node cannot forge, addresses fixed at join, and what a node certificate cannot do
// (issue #18, the review's findings #5, #10, #12, #14), end to end on simulated hosts: h1 is
// the manager, h2 and h3 workers, h4 a stranger outside the swarm. Each test is the review's
// attack, made with shoal-e2e-node-client (tests/e2e/node_client.cpp) from a host's namespace
// with that node's own certificate files, or with none. The tests run in order on one swarm;
// the last removes h3.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::wait_until;

class NamesE2E : public SharedSwarmTest<NamesE2E> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = 4, .members = 3, .log_lines = 60};

  static std::string grow(SwarmCluster& c) { return c.create_app_network({"--attachable"}); }

 protected:
  // One call of the node client from `host`'s namespace: its output ("<CODE> <message>" lines).
  std::string client(int host, std::vector<std::string> args) {
    args.insert(args.begin(), {NODE_CLIENT_PATH, c().address(1) + ":2377"});
    auto result = testing::run_in_ns(c().testbed().host_ns(host), args, 60000);
    return result.ok() ? result->output : "run failed: " + result.error().message();
  }

  std::string worker_token() {
    auto out = c().shoal(1, {"swarm", "join-token", "-q", "worker"}).output;
    return out.substr(0, out.find('\n'));
  }

  std::vector<std::string> hostnames() {
    std::vector<std::string> names;
    for (const auto& row : c().json_rows(1, {"node", "ls"}))
      names.push_back(row.value("Hostname", ""));
    std::sort(names.begin(), names.end());
    return names;
  }

  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
      ++n;
    return n;
  }
};

// The review (C): a name with terminal escapes was stored and printed raw by `node ls`, a 3 MB
// one made it print 12 MB; nothing tied a node's address to the machine it joined from.
TEST_F(NamesE2E, HostileNamesAndForeignAddressesAreRefused) {
  const auto token = worker_token();
  auto escapes = client(4, {"join", token, "escapes", c().address(4)});
  EXPECT_THAT(escapes, StartsWith("INVALID_ARGUMENT invalid hostname"));
  EXPECT_THAT(escapes, HasSubstr("control character (0x1b)"));
  EXPECT_THAT(client(4, {"join", token, "long:3000000", c().address(4)}),
              HasSubstr("is 3000000 bytes long: at most 253"));
  EXPECT_THAT(client(4, {"join", token, "h4", c().address(2)}),
              HasSubstr("advertise address " + c().address(2) +
                        " is not the address this join came from (" + c().address(4) + ")"));

  // h2, with its own certificate, renaming itself or moving its address.
  EXPECT_THAT(client(2, {"session", c().state_dir(2), "escapes", c().address(2)}),
              StartsWith("INVALID_ARGUMENT invalid hostname"));
  EXPECT_THAT(client(2, {"session", c().state_dir(2), "long:3000000", c().address(2)}),
              StartsWith("INVALID_ARGUMENT invalid hostname"));
  EXPECT_THAT(client(2, {"session", c().state_dir(2), "h2", c().address(4)}),
              StartsWith("FAILED_PRECONDITION node "));

  EXPECT_EQ(hostnames(), (std::vector<std::string>{"h1", "h2", "h3"}));
  auto ls = c().shoal(1, {"node", "ls"});
  EXPECT_EQ(ls.output.find('\x1b'), std::string::npos) << ls.output;
  EXPECT_LT(ls.output.size(), 1000u) << ls.output;
  auto status = c().node_status();
  EXPECT_EQ(status["h2"], "Ready");
}

// #23: the overlays and the routing mesh use the interface that holds the advertise address.
// An address no interface of the host holds made a node that joined and then carried nothing;
// init and join refuse it, naming it, and the host stays out of the swarm.
TEST_F(NamesE2E, AnAdvertiseAddressNoInterfaceHoldsIsRefusedAtInitAndJoin) {
  const std::string foreign = "10.99.0.1";  // held by no interface of h4
  auto init = c().shoal(4, {"swarm", "init", "--advertise-addr", foreign});
  EXPECT_NE(init.exit_code, 0) << init.output;
  EXPECT_THAT(init.output, HasSubstr("advertise address \"" + foreign +
                                     "\": no interface of this host holds it"));
  auto join = c().shoal(4, {"swarm", "join", "--token", worker_token(), "--advertise-addr", foreign,
                            c().address(1) + ":2377"});
  EXPECT_NE(join.exit_code, 0) << join.output;
  EXPECT_THAT(join.output, HasSubstr("no interface of this host holds it"));
  EXPECT_EQ(hostnames(), (std::vector<std::string>{"h1", "h2", "h3"}));
  auto info = c().shoal(4, {"node", "ls"});
  EXPECT_NE(info.exit_code, 0) << "h4 must still be outside any swarm: " << info.output;
}

// The review (F): one stranger tried 1,773 tokens a second, each answered and logged.
TEST_F(NamesE2E, FailedJoinsAreRateLimitedAndLoggedOncePerInterval) {
  auto wrong = worker_token();
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  auto answers = client(4, {"join", wrong, "h4", c().address(4), "40"});
  size_t denied = count(answers, "PERMISSION_DENIED");
  size_t limited =
      count(answers, "RESOURCE_EXHAUSTED too many failed join attempts from " + c().address(4));
  EXPECT_EQ(denied + limited, 40u) << answers;
  EXPECT_LE(denied, 12u) << answers;
  EXPECT_GE(limited, 28u) << answers;
  auto logged = count(c().daemon_logs(100000), "join refused from " + c().address(4));
  EXPECT_LE(logged, 4u) << "43 refusals so far";
}

// The review (C): h2 restarted with `--node-name h3` became a second h3, and `node promote h3`
// promoted it. Duplicate names are allowed, as in Docker, but the name no longer names a node.
TEST_F(NamesE2E, AnImpostorsNameIsAmbiguousAndPromotesNobody) {
  ASSERT_TRUE(c().stop_daemon(2, SIGTERM));
  ASSERT_TRUE(c().start_daemon(2, "h3"));
  ASSERT_TRUE(wait_until(
      [&] {
        return hostnames() == std::vector<std::string>{"h1", "h3", "h3"};
      },
      30s))
      << c().shoal(1, {"node", "ls"}).output;

  auto promote = c().shoal(1, {"node", "promote", "h3"});
  EXPECT_EQ(promote.exit_code, 1) << promote.output;
  EXPECT_THAT(promote.output, HasSubstr("node h3 is ambiguous (2 matches found)"));
  auto inspect = c().shoal(1, {"node", "inspect", "h3"});
  EXPECT_THAT(inspect.output, HasSubstr("node h3 is ambiguous (2 matches found)"));
  size_t managers = 0;
  for (const auto& row : c().json_rows(1, {"node", "ls"}))
    managers += row.value("ManagerStatus", "").empty() ? 0 : 1;
  EXPECT_EQ(managers, 1u) << c().shoal(1, {"node", "ls"}).output;

  // h2 takes its name back.
  ASSERT_TRUE(c().stop_daemon(2, SIGTERM));
  ASSERT_TRUE(c().start_daemon(2));
  EXPECT_TRUE(wait_until(
      [&] {
        auto status = c().node_status();
        return hostnames() == std::vector<std::string>{"h1", "h2", "h3"} && status["h2"] == "Ready";
      },
      30s))
      << c().shoal(1, {"node", "ls"}).output;
}

// The review (B3): after `node rm`, the node's certificate still created a hidden `shoal run`
// service that squatted a name, and still published logs. Last: it removes h3.
TEST_F(NamesE2E, ARemovedNodesCertificateIsRefused) {
  ASSERT_TRUE(c().stop_daemon(3, SIGKILL));
  ASSERT_TRUE(wait_until([&] { return c().node_status()["h3"] == "Down"; }, 60s))
      << c().shoal(1, {"node", "ls"}).output;
  auto removed = c().shoal(1, {"node", "rm", "h3"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;

  EXPECT_THAT(client(3, {"start-run", c().state_dir(3), "app", "ghost1"}),
              StartsWith("PERMISSION_DENIED node "));
  EXPECT_THAT(client(3, {"publish-logs", c().state_dir(3), "subscription", "task"}),
              StartsWith("PERMISSION_DENIED node "));
  // No hidden service holds the name.
  ASSERT_TRUE(c().create_service("ghost1", 1));
  EXPECT_TRUE(c().remove_service("ghost1"));
}

}  // namespace
}  // namespace shoal::e2e
