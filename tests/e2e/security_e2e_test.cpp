// Issue #18's attacks on a real swarm (hosts 1-3 in it, host 4 an outsider), each written as the
// review's reproduction (shared/design/SECURITY_REVIEW.md): a gossip member without the key, a
// member with a stolen key forging overlay peers, a manager certificate minted for a node that
// does not exist, and a leaked gossip key made useless by rotation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/hex.h"
#include "control/agent/gossip/gossip_node.h"
#include "control/agent/rows/peer_record.h"
#include "control/pki/ca.h"
#include "control/pki/node_files.h"
#include "gossip/keys/gossip_keys.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"
#include "tests/unit/gossip/child_process.h"

namespace shoal::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using gossip::testing::ChildProcess;
using ::testing::HasSubstr;
using testing::wait_until;

constexpr int kOutsider = 4;

class SecurityE2E : public SharedSwarmTest<SecurityE2E> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = 4, .members = 3};
  static std::string grow(SwarmCluster& c) {
    return c.create_app_network({"--subnet", "10.78.0.0/24"});
  }

 protected:
  std::string network_id() {
    for (const auto& row : c().json_rows(1, {"network", "ls", "--no-trunc"})) {
      if (row.value("Name", "") == "app")
        return row.value("ID", "");
    }
    return "";
  }

  // The keys a member keeps (gossip_node.h), base64, the one it seals with first.
  std::vector<std::string> kept_keys(int host) {
    auto keys = agent::read_kept_keys(c().state_dir(host) + "/gossip-keys.json");
    std::vector<std::string> out;
    if (keys.ok()) {
      for (const auto& key : *keys)
        out.push_back(gossip::base64_key(key));
    }
    return out;
  }

  // A networkdb member on the outsider's host, joining host 1's gossip.
  std::unique_ptr<ChildProcess> rogue(const std::vector<std::string>& keys,
                                      const std::string& network = "") {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "ip",
                                     "netns",
                                     "exec",
                                     c().testbed().host_ns(kOutsider),
                                     SHOAL_GOSSIP_PATH,
                                     "table-agent",
                                     "--name",
                                     "rogue-node",
                                     "--bind",
                                     c().address(kOutsider) + ":7946",
                                     "--join",
                                     c().address(1) + ":7946",
                                     "--fast"};
    for (const auto& key : keys) {
      argv.push_back("--encrypt");
      argv.push_back(key);
    }
    if (!network.empty()) {
      argv.push_back("--network");
      argv.push_back(network);
    }
    return std::make_unique<ChildProcess>(argv);
  }

  // The members the rogue sees alive (itself included); -1 once it gave up (it exits when it
  // could join nobody).
  static int alive_members(ChildProcess& member) {
    size_t from = member.lines().size();
    if (!member.write_line("status"))
      return -1;
    auto line = member.wait_for_line(
        [](const std::string& l) { return l.find("\"status\"") != std::string::npos; }, 5s, from);
    if (!line)
      return -1;
    return nlohmann::json::parse(*line, nullptr, false).value("alive", -1);
  }

  std::string overlay_fdb(int host, const std::string& network) {
    auto shown =
        testing::run_command({"bridge", "-n", "shoal-" + c().node_tag(host) + "-net-" + network,
                              "fdb", "show", "dev", "vxlan0"});
    return shown.ok() ? shown->output : "";
  }
};

TEST_F(SecurityE2E, AnOutsiderWithoutTheGossipKeyIsNotLetIn) {
  // Repro A1: with no key the outsider joined and read every table.
  auto outsider = rogue({});
  std::this_thread::sleep_for(3s);
  EXPECT_LE(alive_members(*outsider), 1) << "an outsider without a key joined";
  // Nor with a key of its own.
  auto guesser = rogue({"cg8StVXbQJ0gPvMd9o7yrg=="});
  std::this_thread::sleep_for(3s);
  EXPECT_LE(alive_members(*guesser), 1) << "an outsider with a wrong key joined";
}

TEST_F(SecurityE2E, AMemberWithAStolenKeyCannotPointTaskAddressesAtItsOwnHost) {
  // Repro A2/A3: injected peer rows made h3 send a task address's traffic to the attacker.
  const auto network = network_id();
  ASSERT_FALSE(network.empty());
  ASSERT_TRUE(c().create_service("web", 3));
  ASSERT_TRUE(c().wait_running("web", 3));
  auto tasks = c().ps("web");
  ASSERT_FALSE(tasks.empty());
  const auto victim = c().task_address(tasks.front());
  ASSERT_FALSE(victim.empty());

  auto keys = kept_keys(1);
  ASSERT_FALSE(keys.empty()) << "host 1 keeps no gossip keys";
  auto attacker = rogue(keys, network);
  ASSERT_TRUE(wait_until([&] { return alive_members(*attacker) == 4; }, 15s, 500ms))
      << "the stolen key should let the attacker in (else this test proves nothing)";
  const auto attacker_vtep = *Ipv4::parse(c().address(kOutsider));
  auto forge = [&](const std::string& key, const std::string& ip) {
    auto addr = *Ipv4Prefix::parse(ip + "/24");
    auto row =
        agent::encode_peer({.ip = addr, .mac = Mac::from_ipv4(addr.addr()), .vtep = attacker_vtep});
    return attacker->write_line("create overlay_peer_table " + network + " " + key +
                                " hex:" + to_hex(row));
  };
  ASSERT_TRUE(forge("rogue-endpoint-1", "10.78.0.200"));
  ASSERT_TRUE(forge("rogue-endpoint-2", victim));
  std::this_thread::sleep_for(3s);  // gossip reaches every member well within this
  for (int host = 1; host <= 3; ++host) {
    auto fdb = overlay_fdb(host, network);
    EXPECT_EQ(fdb.find(c().address(kOutsider)), std::string::npos)
        << "h" << host << " points an overlay address at the attacker:\n"
        << fdb;
  }
  attacker.reset();
  EXPECT_TRUE(c().remove_service("web"));
}

TEST_F(SecurityE2E, AManagerCertificateMintedForANodeNotInTheSwarmIsRefused) {
  // Repro B4: with a CA key, a manager certificate for a node id that does not exist was taken
  // for the whole Control API.
  auto files = pki::load_node_files(c().state_dir(1));
  ASSERT_TRUE(files.ok()) << files.error().message();
  auto key = pki::load_ca_key(c().state_dir(1));
  ASSERT_TRUE(key.ok()) << key.error().message();
  auto ca = pki::CertificateAuthority::load(files->ca_cert_pem, *key);
  ASSERT_TRUE(ca.ok()) << ca.error().message();
  auto csr = pki::make_key_and_csr();
  ASSERT_TRUE(csr.ok());
  auto own = pki::identity_of(files->node_cert_pem);
  ASSERT_TRUE(own.ok());
  auto forged = ca->sign(csr->csr_pem,
                         {.node_id = "forgednode000000000000000",
                          .role = pki::NodeRole::kManager,
                          .cluster_id = own->cluster_id},
                         {});
  ASSERT_TRUE(forged.ok()) << forged.error().message();

  const fs::path dir = fs::path(c().state_dir(1)).parent_path() / "forged";
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  auto call = [&](const std::string& cert, const std::string& key_pem, const std::string& method) {
    return testing::run_in_ns(
        c().testbed().host_ns(kOutsider),
        {NODE_CLIENT_PATH, c().address(1) + ":2377", "call", method,
         write("ca.pem", files->ca_cert_pem), write("cert.pem", cert), write("key.pem", key_pem)});
  };
  // The tool works: the manager's own certificate is served.
  auto served = call(files->node_cert_pem, files->node_key_pem, "ListNodes");
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(served->exit_code, 0) << served->output;
  for (const char* method : {"ListNodes", "GetJoinTokens", "Backup"}) {
    auto refused = call(*forged, csr->key_pem, method);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->exit_code, 1) << method << ": " << refused->output;
    EXPECT_THAT(refused->output, HasSubstr("not a member of this swarm")) << method;
  }
  fs::remove_all(dir);
}

TEST_F(SecurityE2E, ARotatedOutGossipKeyNoLongerLetsAnyoneIn) {
  // A key that leaked (a node's disk, say) is worthless three rotations later, and the swarm
  // keeps converging through every rotation.
  auto leaked = kept_keys(2);
  ASSERT_FALSE(leaked.empty());
  for (int rotation = 0; rotation < 3; ++rotation) {
    auto rotated = c().shoal(1, {"swarm", "update", "--rotate-gossip-key"});
    ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
    EXPECT_THAT(rotated.output, HasSubstr("Swarm updated."));
  }
  for (int host = 1; host <= 3; ++host) {
    EXPECT_TRUE(wait_until(
        [&] {
          auto keys = kept_keys(host);
          return keys.size() == 3 &&
                 std::find(keys.begin(), keys.end(), leaked.front()) == keys.end();
        },
        15s, 200ms))
        << "h" << host << " did not install the rotated keys";
  }
  auto holder = rogue({leaked.front()});
  std::this_thread::sleep_for(3s);
  EXPECT_LE(alive_members(*holder), 1) << "a key rotated out three times still lets one in";

  // Gossip still carries rows between the members: a new service's tasks become overlay peers
  // of the other hosts.
  const auto network = network_id();
  ASSERT_TRUE(c().create_service("after", 3));
  ASSERT_TRUE(c().wait_running("after", 3));
  for (const auto& task : c().ps("after")) {
    if (!task.current_running())
      continue;
    auto addr = c().task_address(task);
    for (int host = 1; host <= 3; ++host) {
      if (c().host_of(task.node) == host)
        continue;
      EXPECT_TRUE(wait_until(
          [&] {
            auto neigh =
                testing::run_command({"ip", "-n", "shoal-" + c().node_tag(host) + "-net-" + network,
                                      "-4", "neigh", "show", "dev", "vxlan0"});
            return neigh.ok() && neigh->output.find(addr + " ") != std::string::npos;
          },
          10s, 100ms))
          << addr << " is not an overlay peer on h" << host;
    }
  }
  EXPECT_TRUE(c().remove_service("after"));
}

}  // namespace
}  // namespace shoal::e2e
