// Certificate renewal end to end (issue #18, finding #6): a swarm whose node certificates are
// valid for one minute (`swarm init --cert-expiry 1m`, allowed by
// SHOAL_ALLOW_SHORT_CERT_EXPIRY=1 in shoald's environment), with two managers (so the store is
// in etcd, a follower forwards control calls to the leader, and both etcd members use their
// certificates) and a worker. While a client keeps calling the control API on both managers,
// every node renews its certificate at least once and no call fails; past the first
// certificates' expiry the swarm still schedules a service and every node is Ready.
//
// Before renewal existed the certificates expired after a minute here: new connections (the
// follower's forwarding, a reconnecting agent, etcd peers) failed their handshakes.
//
// Revocation of replaced certificates rides along: each manager certificate replaced by a
// renewal, though still valid, is refused by the leader's manager port and by its etcd member
// (the revocation list) once the grace (a tenth of the lifetime, 6 s here) is over, while the
// current one is served by both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "control/pki/identity.h"
#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/testbed.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

constexpr int kHosts = 3;  // h1 initialises, h2 joins as a manager, h3 as a worker

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// A manager's key and certificate as they were at some point, and when that was seen replaced.
struct Replaced {
  std::string cert;
  std::string key;
  std::chrono::system_clock::time_point due;  // check it from then on
};

// A node's key and certificate as one read of swarm-node.pem (the key first, then the chain),
// which a renewal replaces at once: the two separate files may be seen one old, one new.
std::pair<std::string, std::string> identity_of_node(SwarmCluster& c, int host) {
  const auto pem = read_text(c.state_dir(host) + "/certificates/swarm-node.pem");
  constexpr std::string_view kKeyEnd = "-----END PRIVATE KEY-----\n";
  const auto end = pem.find(kKeyEnd);
  if (end == std::string::npos)
    return {};
  return {pem.substr(end + kKeyEnd.size()), pem.substr(0, end + kKeyEnd.size())};
}

// `command(ca, cert, key)` run in h3's namespace with a node's certificate files written out.
testing::CommandResult run_with_files(
    SwarmCluster& c, const std::string& cert, const std::string& key,
    const std::function<std::vector<std::string>(std::string, std::string, std::string)>& command) {
  const std::string dir = c.state_dir(3) + "-certs";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  auto ca = read_text(c.state_dir(1) + "/certificates/swarm-root-ca.crt");
  auto done = testing::run_in_ns(
      c.testbed().host_ns(3),
      command(write("ca.pem", ca), write("cert.pem", cert), write("key.pem", key)), 20000);
  std::filesystem::remove_all(dir);
  return done.ok() ? *done : testing::CommandResult{};
}

// One ListNodes on the leader (h1) with a node's certificate.
testing::CommandResult call_with(SwarmCluster& c, const std::string& cert, const std::string& key) {
  return run_with_files(c, cert, key, [&](auto ca, auto cert_file, auto key_file) {
    return std::vector<std::string>{
        NODE_CLIENT_PATH, c.address(1) + ":2377", "call", "ListNodes", ca, cert_file, key_file};
  });
}

// One read of the leader's etcd member (h1) with a node's certificate: the key's name when
// etcd took the certificate.
testing::CommandResult etcd_with(SwarmCluster& c, const std::string& cert, const std::string& key) {
  return run_with_files(c, cert, key, [&](auto ca, auto cert_file, auto key_file) {
    return std::vector<std::string>{"env",
                                    "ETCDCTL_API=3",
                                    "etcdctl",
                                    "--endpoints=https://" + c.address(1) + ":2379",
                                    "--insecure-skip-tls-verify",
                                    "--cacert=" + ca,
                                    "--cert=" + cert_file,
                                    "--key=" + key_file,
                                    "--dial-timeout=2s",
                                    "--command-timeout=3s",
                                    "get",
                                    "--keys-only",
                                    "/shoal/secrets"};
  });
}

// Restores the environment and ends the cluster whatever the test did.
struct ClusterGuard {
  std::unique_ptr<SwarmCluster>& cluster;
  ~ClusterGuard() {
    end_cluster(cluster);
    ::unsetenv("SHOAL_ALLOW_SHORT_CERT_EXPIRY");
  }
};

TEST(RenewalE2E, EveryNodeRenewsItsOneMinuteCertificateWithNoFailedCall) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << kNeedsRoot;
  }
  ::setenv("SHOAL_ALLOW_SHORT_CERT_EXPIRY", "1", 1);  // the daemons inherit it
  std::string error;
  std::unique_ptr<SwarmCluster> cluster;
  ClusterGuard guard{cluster};
  cluster = SwarmCluster::start(kHosts, 0, error);
  ASSERT_NE(cluster, nullptr) << error;
  auto& c = *cluster;

  auto init = c.shoal(1, {"swarm", "init", "--advertise-addr", c.address(1),
                          "--dispatcher-heartbeat", "1s", "--cert-expiry", "1m"});
  ASSERT_EQ(init.exit_code, 0) << init.output << c.daemon_logs();
  auto manager_token = first_line(c.shoal(1, {"swarm", "join-token", "-q", "manager"}).output);
  auto worker_token = first_line(c.shoal(1, {"swarm", "join-token", "-q", "worker"}).output);
  auto joined =
      c.shoal(2, {"swarm", "join", "--token", manager_token, c.address(1) + ":2377"}, 90000);
  ASSERT_EQ(joined.exit_code, 0) << joined.output << c.daemon_logs();
  joined = c.shoal(3, {"swarm", "join", "--token", worker_token, c.address(1) + ":2377"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output << c.daemon_logs();
  auto all_ready = [&] {
    auto status = c.node_status();
    return status.size() == kHosts &&
           std::all_of(status.begin(), status.end(), [](auto& e) { return e.second == "Ready"; });
  };
  ASSERT_TRUE(wait_until(all_ready, 60s)) << c.shoal(1, {"node", "ls"}).output << c.daemon_logs();

  // Each node's certificates as they change; the first ones' end.
  std::map<int, std::set<std::string>> seen;
  auto first_expiry = std::chrono::system_clock::time_point::min();
  for (int host = 1; host <= kHosts; ++host) {
    auto cert = read_text(c.state_dir(host) + "/certificates/swarm-node.crt");
    auto validity = pki::validity_of(cert);
    ASSERT_TRUE(validity.ok()) << "h" << host << ": " << validity.error().message();
    // The CA used --cert-expiry: one minute (plus the backdating of a tenth).
    EXPECT_LE(validity->not_after - validity->not_before, 67s) << "h" << host;
    first_expiry = std::max(first_expiry, validity->not_after);
    seen[host].insert(cert);
  }

  // Calls on the leader (h1) and on the follower (h2, which forwards them to the leader with
  // its own certificate) until every first certificate has been expired for 20 s.
  int calls = 0;
  std::vector<std::string> failures;
  std::map<int, std::pair<std::string, std::string>> held;  // the managers' (cert, key) now
  for (int host : {1, 2})
    held[host] = identity_of_node(c, host);
  std::vector<Replaced> replaced;
  int revoked = 0;
  int etcd_revoked = 0;
  std::vector<std::string> still_taken;
  const auto until = first_expiry + 20s;
  while (std::chrono::system_clock::now() < until) {
    const auto now = std::chrono::system_clock::now();
    for (int host : {1, 2}) {
      auto current = identity_of_node(c, host);
      if (current.first != held[host].first && !current.first.empty()) {
        // Past the grace (6 s) and the revocation list's way to etcd (a second or two).
        replaced.push_back({held[host].first, held[host].second, now + 10s});
        held[host] = current;
      }
    }
    for (auto it = replaced.begin(); it != replaced.end();) {
      auto validity = pki::validity_of(it->cert);
      if (now < it->due) {
        ++it;
        continue;
      }
      if (validity.ok() && validity->not_after > now + 1s) {  // still valid: only revocation
        auto refused = call_with(c, it->cert, it->key);
        if (refused.exit_code == 1 && refused.output.find("is revoked") != std::string::npos)
          ++revoked;
        else
          still_taken.push_back("manager port: " + refused.output);
        auto etcd = etcd_with(c, it->cert, it->key);
        if (etcd.exit_code != 0 && etcd.output.find("/shoal/secrets") == std::string::npos)
          ++etcd_revoked;
        else
          still_taken.push_back("etcd: " + etcd.output);
      }
      it = replaced.erase(it);
    }
    for (int host : {1, 2}) {
      auto listed = c.shoal(host, {"service", "ls"}, 20000);
      ++calls;
      if (listed.exit_code != 0 && failures.size() < 10) {
        failures.push_back("h" + std::to_string(host) + ": " + listed.output);
      }
    }
    for (int host = 1; host <= kHosts; ++host) {
      seen[host].insert(read_text(c.state_dir(host) + "/certificates/swarm-node.crt"));
    }
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed of " << calls
                                << " calls, first: " << failures.front() << c.daemon_logs(60);
  EXPECT_TRUE(still_taken.empty())
      << "a replaced certificate still counted: " << still_taken.front();
  EXPECT_GE(revoked, 1) << "no manager certificate was seen replaced while still valid";
  // The current certificate of a manager is served (the client above works).
  auto served = call_with(c, held[2].first, held[2].second);
  EXPECT_EQ(served.exit_code, 0) << served.output;
  EXPECT_GE(etcd_revoked, 1) << "etcd never refused a replaced certificate";
  auto etcd_served = etcd_with(c, held[2].first, held[2].second);
  EXPECT_EQ(etcd_served.exit_code, 0) << etcd_served.output;
  EXPECT_NE(etcd_served.output.find("/shoal/secrets"), std::string::npos) << etcd_served.output;
  for (int host = 1; host <= kHosts; ++host) {
    EXPECT_GE(seen[host].size(), 2u)
        << "h" << host << " never renewed its certificate" << c.daemon_logs(60);
  }

  // The swarm still works on renewed certificates only: all nodes Ready, a service scheduled
  // and started on them.
  EXPECT_TRUE(wait_until(all_ready, 30s)) << c.shoal(1, {"node", "ls"}).output;
  ASSERT_EQ(c.create_app_network(), "");
  ASSERT_TRUE(c.create_service("after", 3));
  EXPECT_TRUE(c.wait_running("after", 3, 60s)) << c.ps_text("after") << c.daemon_logs(60);
  EXPECT_TRUE(c.remove_service("after"));
}

}  // namespace
}  // namespace shoal::e2e
