// Several managers end to end (issue #8) on five simulated hosts: h1 initialises, h2 and h3 join
// with the manager token (each runs an etcd member under its state dir), h4 and h5 are workers.
// The tests run in order on one cluster and each leaves three managers up with one leader:
// failover when the leader's host dies, fast "no quorum" refusals when two of three managers are
// gone while the published port keeps answering, and recovery when they return.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include <chrono>
#include <functional>
#include <set>

#include "control/pki/ca.h"
#include "control/pki/node_files.h"
#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::wait_until;

constexpr int kHosts = 5;
constexpr int kManagers = 3;

std::string web_command() {
  return std::string("exec ") + SHOAL_LB_BENCH_PATH + " http 0.0.0.0 80 \"web $(hostname)\"";
}

long long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

class ManagersE2E : public SharedSwarmTest<ManagersE2E> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = kHosts, .members = 1, .log_lines = 60};

  // h2, h3 join as managers, h4, h5 as workers; a network and a published service.
  static std::string grow(SwarmCluster& c) {
    auto manager_token = c.shoal(1, {"swarm", "join-token", "-q", "manager"}).output;
    auto worker_token = c.shoal(1, {"swarm", "join-token", "-q", "worker"}).output;
    manager_token = manager_token.substr(0, manager_token.find('\n'));
    worker_token = worker_token.substr(0, worker_token.find('\n'));
    for (int host = 2; host <= kHosts; ++host) {
      const auto& token = host <= kManagers ? manager_token : worker_token;
      auto joined =
          c.shoal(host, {"swarm", "join", "--token", token, c.address(1) + ":2377"}, 90000);
      if (joined.exit_code != 0) {
        return "swarm join on h" + std::to_string(host) + ": " + joined.output + c.daemon_logs();
      }
    }
    if (!wait_until([&] { return c.node_status().size() == kHosts && all_ready(); }, 60s)) {
      return "nodes not ready: " + c.shoal(1, {"node", "ls"}).output;
    }
    if (auto error = c.create_app_network(); !error.empty()) {
      return error;
    }
    if (!c.create_service("web", 3, web_command(), {"--publish", "8080:80"}) ||
        !c.wait_running("web", 3, 60s)) {
      return "service web did not start: " + c.ps_text("web") + c.daemon_logs();
    }
    return "";
  }

  static bool all_ready() {
    auto status = cluster_->node_status();
    return std::all_of(status.begin(), status.end(),
                       [](const auto& entry) { return entry.second == "Ready"; });
  }

 protected:
  // MANAGER STATUS by host name, as `node ls` on `host` shows it.
  std::map<std::string, std::string> manager_statuses(int host) {
    std::map<std::string, std::string> out;
    for (const auto& row : c().json_rows(host, {"node", "ls"})) {
      auto status = row.value("ManagerStatus", "");
      if (!status.empty()) {
        out[row.value("Hostname", "")] = status;
      }
    }
    return out;
  }

  // The host whose node leads, as `node ls` on `host` shows it (0: none).
  int leader_seen_from(int host) {
    for (const auto& [name, status] : manager_statuses(host)) {
      if (status == "Leader") {
        return c().host_of(name);
      }
    }
    return 0;
  }

  void cut(int host, bool cut_off) {
    auto run = c().testbed().run();
    auto done = testing::run_command({"ip", "-n", "shoal-" + run + "-ul", "link", "set",
                                      "h" + std::to_string(host), cut_off ? "down" : "up"});
    ASSERT_TRUE(done.ok() && done->exit_code == 0);
  }

  // Runs `argv(ca, cert, key)` in `from`'s namespace with `files` written to a directory of its
  // own (removed after): a client holding that node's certificate.
  testing::CommandResult run_with(
      int from, const pki::NodeFiles& files,
      const std::function<std::vector<std::string>(const std::string&, const std::string&,
                                                   const std::string&)>& argv) {
    const std::string dir = c().state_dir(from) + "-certs";
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, const std::string& text) {
      std::ofstream(dir + "/" + name) << text;
      return dir + "/" + name;
    };
    auto done = testing::run_in_ns(
        c().testbed().host_ns(from),
        argv(write("ca.pem", files.ca_cert_pem), write("cert.pem", files.node_cert_pem),
             write("key.pem", files.node_key_pem)),
        20000);
    std::filesystem::remove_all(dir);
    return done.ok() ? *done : testing::CommandResult{};
  }

  // One Control or Dispatcher call from `from`'s namespace to `manager`'s API, with `files`.
  testing::CommandResult call_with(int from, int manager, const pki::NodeFiles& files,
                                   const std::string& method) {
    return run_with(from, files, [&](auto ca, auto cert, auto key) {
      return std::vector<std::string>{
          NODE_CLIENT_PATH, c().address(manager) + ":2377", "call", method, ca, cert, key};
    });
  }

  // `etcdctl get KEY` from `from`'s namespace at `manager`'s etcd member, with `files`.
  testing::CommandResult etcd_get_with(int from, int manager, const pki::NodeFiles& files,
                                       const std::string& key) {
    return run_with(from, files, [&](auto ca, auto cert, auto key_file) {
      return std::vector<std::string>{"env",
                                      "ETCDCTL_API=3",
                                      "etcdctl",
                                      "--endpoints=https://" + c().address(manager) + ":2379",
                                      "--insecure-skip-tls-verify",
                                      "--cacert=" + ca,
                                      "--cert=" + cert,
                                      "--key=" + key_file,
                                      "--command-timeout=5s",
                                      "get",
                                      key};
    });
  }

  // A request from one worker to the other's published port (a host's own address is not one
  // it routes to itself).
  int answers(int host) {
    return c().http_get(host == 4 ? 5 : 4, host, 8080).starts_with("web ") ? 1 : 0;
  }
};

TEST_F(ManagersE2E, NodeLsShowsOneLeaderAndTwoReachableManagersFromAnyManager) {
  for (int host = 1; host <= kManagers; ++host) {
    auto statuses = manager_statuses(host);
    EXPECT_EQ(statuses, (std::map<std::string, std::string>{
                            {"h1", "Leader"}, {"h2", "Reachable"}, {"h3", "Reachable"}}))
        << "node ls on h" << host << ":\n"
        << c().shoal(host, {"node", "ls"}).output;
  }
  // A follower forwards writes to the leader.
  auto scaled = c().shoal(2, {"service", "scale", "web=4"});
  EXPECT_EQ(scaled.exit_code, 0) << scaled.output;
  c().use_manager(3);
  EXPECT_TRUE(c().wait_running("web", 4, 60s)) << c().ps_text("web");
  c().use_manager(1);
  auto worker = c().shoal(4, {"service", "ls"});
  EXPECT_NE(worker.exit_code, 0);
  EXPECT_THAT(worker.output, HasSubstr("not a swarm manager"));
}

TEST_F(ManagersE2E, LeadersHostDiesAnotherLeadsWithinTenSecondsAndNothingIsLost) {
  const int old_leader = leader_seen_from(2);
  ASSERT_NE(old_leader, 0);
  const int survivor = old_leader == 2 ? 3 : 2;
  auto services_before = c().json_rows(survivor, {"service", "ls"}).size();
  auto started = std::chrono::steady_clock::now();
  cut(old_leader, true);
  ASSERT_TRUE(c().stop_daemon(old_leader, SIGKILL));
  int new_leader = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        new_leader = leader_seen_from(survivor);
        return new_leader != 0 && new_leader != old_leader;
      },
      20s, 100ms))
      << c().shoal(survivor, {"node", "ls"}).output;
  auto failover_ms = ms_since(started);
  std::printf("[ failover ] a new leader (h%d) after %lld ms\n", new_leader, failover_ms);
  EXPECT_LT(failover_ms, 10000);

  c().use_manager(survivor);
  EXPECT_EQ(c().json_rows(survivor, {"service", "ls"}).size(), services_before);
  auto scaled = c().shoal(survivor, {"service", "scale", "web=5"}, 60000);
  EXPECT_EQ(scaled.exit_code, 0) << scaled.output;
  EXPECT_TRUE(c().create_service("late", 2));
  EXPECT_TRUE(c().wait_running("late", 2, 60s)) << c().ps_text("late");
  EXPECT_TRUE(c().wait_running("web", 5, 60s)) << c().ps_text("web");

  // The old leader's host returns: it rejoins as a reachable follower.
  cut(old_leader, false);
  ASSERT_TRUE(c().start_daemon(old_leader));
  EXPECT_TRUE(wait_until(
      [&] {
        auto statuses = manager_statuses(survivor);
        return statuses["h" + std::to_string(old_leader)] == "Reachable";
      },
      60s, 500ms))
      << c().shoal(survivor, {"node", "ls"}).output;
  EXPECT_TRUE(wait_until([&] { return all_ready(); }, 60s))
      << c().shoal(survivor, {"node", "ls"}).output;
  EXPECT_TRUE(c().remove_service("late"));
}

TEST_F(ManagersE2E, TwoOfThreeManagersDownRefuseControlFastWhileThePortAnswers) {
  const int leader = leader_seen_from(1);
  ASSERT_NE(leader, 0);
  // Stop every manager but one follower.
  int kept = leader == 1 ? 2 : 1;
  std::vector<int> stopped;
  for (int host = 1; host <= kManagers; ++host) {
    if (host != kept) {
      ASSERT_TRUE(c().stop_daemon(host, SIGKILL));
      stopped.push_back(host);
    }
  }
  auto started = std::chrono::steady_clock::now();
  auto refused = c().shoal(kept, {"service", "scale", "web=2"});
  auto refused_ms = ms_since(started);
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("no quorum"));
  EXPECT_LT(refused_ms, 2000) << refused.output;
  // Reads too, once the leadership has lapsed everywhere: the 3 s lease from its last renewal,
  // which can be up to a second after the kill (the killed daemons' etcd members stop after
  // them, on their parent's death).
  std::this_thread::sleep_for(5s);
  started = std::chrono::steady_clock::now();
  auto listed = c().shoal(kept, {"service", "ls"});
  EXPECT_NE(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr("no quorum"));
  EXPECT_LT(ms_since(started), 2000);
  // The data plane does not need the managers: the workers' published port answers every
  // request (once gossip has dropped the backends of the hosts whose shoald stopped).
  EXPECT_TRUE(wait_until(
      [&] {
        int answered = 0;
        for (int round = 0; round < 4; ++round) {
          answered += answers(4) + answers(5);
        }
        return answered == 8;
      },
      30s, 500ms));

  // One manager back: a quorum again, and the swarm works.
  ASSERT_TRUE(c().start_daemon(stopped[0]));
  c().use_manager(kept);
  EXPECT_TRUE(wait_until(
      [&] {
        return c().shoal(kept, {"service", "scale", "web=3"}).exit_code == 0;
      },
      30s, 500ms));
  EXPECT_TRUE(c().wait_running("web", 3, 60s)) << c().ps_text("web");
  ASSERT_TRUE(c().start_daemon(stopped[1]));
  EXPECT_TRUE(wait_until(
      [&] {
        auto statuses = manager_statuses(kept);
        return std::count_if(statuses.begin(), statuses.end(), [](const auto& s) {
                 return s.second == "Reachable" || s.second == "Leader";
               }) == kManagers;
      },
      60s, 500ms))
      << c().shoal(kept, {"node", "ls"}).output;
}

TEST_F(ManagersE2E, PromoteAndDemoteChangeNodeLs) {
  const int leader = leader_seen_from(1);
  ASSERT_NE(leader, 0);
  auto promoted = c().shoal(leader, {"node", "promote", "h4"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.output;
  EXPECT_THAT(promoted.output, HasSubstr("promoted to a manager"));
  EXPECT_TRUE(wait_until([&] { return manager_statuses(leader)["h4"] == "Reachable"; }, 60s, 500ms))
      << c().shoal(leader, {"node", "ls"}).output;
  // The promoted node serves the API itself soon after: "Reachable" is its etcd member
  // answering, and its manager starts on top of that.
  EXPECT_TRUE(wait_until(
      [&] {
        return c().shoal(4, {"service", "ls"}).exit_code == 0;
      },
      30s, 500ms))
      << c().shoal(4, {"service", "ls"}).output;
  // Its manager certificate, kept as an attacker who had the node would keep it; and the root CA
  // key on its disk, as a manager that once led holds it (repro B4).
  auto manager_files = pki::load_node_files(c().state_dir(4));
  ASSERT_TRUE(manager_files.ok());
  ASSERT_EQ(pki::identity_of(manager_files->node_cert_pem)->role, pki::NodeRole::kManager);
  auto ca_key = pki::load_ca_key(c().state_dir(leader));
  ASSERT_TRUE(ca_key.ok()) << ca_key.error().message();
  ASSERT_TRUE(pki::save_ca_key(c().state_dir(4), *ca_key).ok());

  auto demoted = c().shoal(leader, {"node", "demote", "h4"});
  ASSERT_EQ(demoted.exit_code, 0) << demoted.output;
  EXPECT_TRUE(wait_until([&] { return manager_statuses(leader).size() == kManagers; }, 30s, 500ms))
      << c().shoal(leader, {"node", "ls"}).output;
  EXPECT_TRUE(wait_until(
      [&] {
        auto refused = c().shoal(4, {"service", "ls"});
        return refused.exit_code != 0 &&
               refused.output.find("not a swarm manager") != std::string::npos;
      },
      60s, 500ms));
  // A demoted node holds no CA key.
  EXPECT_TRUE(wait_until(
      [&] {
        auto gone = pki::load_ca_key(c().state_dir(4));
        return !gone.ok() && gone.error().errnum == ENOENT;
      },
      30s, 200ms))
      << "the demoted node still holds the root CA key";
  // Its old manager certificate is revoked: refused by the leader, and by a follower, which
  // forwards the call to the leader (repro B3).
  for (int manager = 1; manager <= kManagers; ++manager) {
    auto refused = call_with(5, manager, *manager_files, "GetJoinTokens");
    EXPECT_EQ(refused.exit_code, 1) << "h" << manager << ": " << refused.output;
    EXPECT_THAT(refused.output, HasSubstr("no longer a manager")) << "h" << manager;
  }
  // And at etcd, where the secrets are (the CA key among them): the leader's own certificate
  // reads them, the demoted node's old one no longer does.
  auto leader_files = pki::load_node_files(c().state_dir(leader));
  ASSERT_TRUE(leader_files.ok());
  auto read = etcd_get_with(5, leader, *leader_files, "/shoal/secrets");
  EXPECT_THAT(read.output, HasSubstr("ca_key")) << "etcdctl itself fails: " << read.output;
  auto stale = etcd_get_with(5, leader, *manager_files, "/shoal/secrets");
  EXPECT_NE(stale.exit_code, 0) << stale.output;
  EXPECT_THAT(stale.output, ::testing::Not(HasSubstr("ca_key")));
  EXPECT_TRUE(wait_until([&] { return all_ready(); }, 60s))
      << c().shoal(leader, {"node", "ls"}).output;
}

// Repro B4's recovery: a root CA key leaked (here: copied off the leader). `swarm ca --rotate`
// moves every node to a new root, after which certificates the old key mints are refused by the
// API and by etcd, and the join tokens (which name the root) change.
TEST_F(ManagersE2E, RootRotationMovesEveryNodeAndTheLeakedOldRootIsTrustedNoMore) {
  const int leader = leader_seen_from(1);
  ASSERT_NE(leader, 0);
  auto leader_files = pki::load_node_files(c().state_dir(leader));
  auto old_key = pki::load_ca_key(c().state_dir(leader));
  ASSERT_TRUE(leader_files.ok() && old_key.ok());
  auto old_root = pki::CertificateAuthority::load(leader_files->ca_cert_pem, *old_key);
  ASSERT_TRUE(old_root.ok()) << old_root.error().message();
  auto leader_identity = pki::identity_of(leader_files->node_cert_pem);
  ASSERT_TRUE(leader_identity.ok());
  // What the holder of the leaked key makes: a manager certificate naming a real manager.
  auto key = pki::make_key_and_csr();
  ASSERT_TRUE(key.ok());
  auto minted_cert = old_root->sign(key->csr_pem, *leader_identity, {});
  ASSERT_TRUE(minted_cert.ok());
  const pki::NodeFiles minted{.ca_cert_pem = old_root->cert_pem(),
                              .node_cert_pem = *minted_cert,
                              .node_key_pem = key->key_pem};
  // Before the rotation etcd takes it (etcd knows users by name), or this test proves nothing;
  // the API already refuses it: its serial is not the node's (revocation of replaced ones).
  auto before = etcd_get_with(5, leader, minted, "/shoal/secrets");
  ASSERT_THAT(before.output, HasSubstr("ca_key")) << before.output;
  auto api_before = call_with(5, leader, minted, "GetJoinTokens");
  EXPECT_EQ(api_before.exit_code, 1) << api_before.output;
  EXPECT_THAT(api_before.output, HasSubstr("is revoked"));
  const auto old_token = c().shoal(leader, {"swarm", "join-token", "-q", "worker"}).output;

  auto rotated = c().shoal(leader, {"swarm", "ca", "--rotate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  EXPECT_THAT(rotated.output, HasSubstr("nodes moved"));
  auto shown = c().shoal(leader, {"swarm", "ca"});
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  const std::string new_root = shown.output;
  ASSERT_THAT(new_root, HasSubstr("BEGIN CERTIFICATE"));
  ASSERT_NE(new_root, old_root->cert_pem());
  // Every node trusts only the new root and holds a certificate it signed.
  for (int host = 1; host <= 5; ++host) {
    EXPECT_TRUE(wait_until(
        [&] {
          auto files = pki::load_node_files(c().state_dir(host));
          return files.ok() && files->ca_cert_pem == new_root &&
                 pki::signed_directly_by(files->node_cert_pem, new_root);
        },
        30s, 200ms))
        << "h" << host << " has not moved to the new root";
  }
  // The minted certificate is refused by every manager's API and by etcd.
  for (int manager = 1; manager <= kManagers; ++manager) {
    EXPECT_TRUE(wait_until(
        [&] { return call_with(5, manager, minted, "GetJoinTokens").exit_code != 0; }, 30s, 500ms))
        << "h" << manager << " still takes a certificate of the old root";
  }
  // etcd reads its roots at start: each member restarts for them, one at a time (5 s apart).
  for (int manager = 1; manager <= kManagers; ++manager) {
    std::string output;
    EXPECT_TRUE(wait_until(
        [&] {
          auto stale = etcd_get_with(5, manager, minted, "/shoal/secrets");
          output = stale.output;
          return stale.exit_code != 0 && output.find("ca_key") == std::string::npos;
        },
        30s, 1s))
        << "h" << manager << "'s etcd member still takes the old root: " << output;
  }
  // The swarm goes on: the join token changed, nodes are ready, and a change is carried out.
  testing::CommandResult new_token;
  EXPECT_TRUE(wait_until(
      [&] {
        new_token = c().shoal(leader, {"swarm", "join-token", "-q", "worker"});
        return new_token.exit_code == 0;
      },
      30s, 500ms))
      << new_token.output;
  EXPECT_NE(new_token.output, old_token);
  EXPECT_TRUE(wait_until([&] { return all_ready(); }, 60s))
      << c().shoal(leader, {"node", "ls"}).output;
  EXPECT_TRUE(wait_until(
      [&] {
        return c().shoal(leader, {"service", "scale", "web=2"}).exit_code == 0;
      },
      30s, 500ms));
  EXPECT_TRUE(c().wait_running("web", 2, 60s)) << c().ps_text("web");
}

TEST_F(ManagersE2E, DemotingTheLastButOneReachableManagerIsRefusedWithoutForce) {
  const int leader = leader_seen_from(1);
  ASSERT_NE(leader, 0);
  std::vector<int> followers;
  for (int host = 1; host <= kManagers; ++host) {
    if (host != leader)
      followers.push_back(host);
  }
  ASSERT_TRUE(c().stop_daemon(followers[1], SIGKILL));
  ASSERT_TRUE(wait_until(
      [&] { return manager_statuses(leader)["h" + std::to_string(followers[1])] == "Unreachable"; },
      30s, 500ms));
  auto refused = c().shoal(leader, {"node", "demote", "h" + std::to_string(followers[0])});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("quorum"));
  EXPECT_THAT(refused.output, HasSubstr("--force"));
  EXPECT_EQ(manager_statuses(leader)["h" + std::to_string(followers[0])], "Reachable");
  ASSERT_TRUE(c().start_daemon(followers[1]));
  EXPECT_TRUE(wait_until(
      [&] { return manager_statuses(leader)["h" + std::to_string(followers[1])] == "Reachable"; },
      60s, 500ms));
}

// Last: it ends the three-manager swarm.
TEST_F(ManagersE2E, ForceNewClusterRecoversFromTheLossOfTwoManagers) {
  const int leader = leader_seen_from(1);
  ASSERT_NE(leader, 0);
  const int survivor = leader == 1 ? 2 : 1;
  auto services = c().json_rows(survivor, {"service", "ls"}).size();
  ASSERT_GE(services, 1u);
  for (int host = 1; host <= kManagers; ++host) {
    if (host != survivor) {
      cut(host, true);
      ASSERT_TRUE(c().stop_daemon(host, SIGKILL));
    }
  }
  auto forced = c().shoal(survivor, {"swarm", "init", "--force-new-cluster"}, 60000);
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  c().use_manager(survivor);
  EXPECT_EQ(manager_statuses(survivor),
            (std::map<std::string, std::string>{{"h" + std::to_string(survivor), "Leader"}}));
  EXPECT_EQ(c().json_rows(survivor, {"service", "ls"}).size(), services);
  auto scaled = c().shoal(survivor, {"service", "scale", "web=2"});
  EXPECT_EQ(scaled.exit_code, 0) << scaled.output;
  EXPECT_TRUE(c().wait_running("web", 2, 60s)) << c().ps_text("web");
}

}  // namespace
}  // namespace shoal::e2e
