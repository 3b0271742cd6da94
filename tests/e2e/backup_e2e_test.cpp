// Backup and restore round trip (issue #8), on simulated hosts: h1 manager and h2 worker form a
// swarm with a network, a config and a published service; h1 writes a backup, then the whole
// swarm is lost (both leave). h3 restores it as a new single manager; h4 joins it with the old
// worker token and plays the client from outside.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/e2e/swarm_cluster.h"
#include "tests/e2e/swarm_suite.h"
#include "tests/support/wait.h"

namespace shoal::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::wait_until;

constexpr int kHosts = 4;
constexpr int kMembers = 2;  // h1 manager, h2 worker
constexpr int kRestorer = 3;
constexpr int kNewWorker = 4;

std::string web_command() {
  return std::string("exec ") + SHOAL_LB_BENCH_PATH + " http 0.0.0.0 80 \"web $(hostname)\"";
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

class SwarmBackup : public FreshSwarmTest<SwarmBackup> {
 public:
  static constexpr SwarmShape kSwarm{.hosts = kHosts, .members = kMembers, .log_lines = 60};

 protected:
  std::string file(const std::string& name) const { return c_root() + "/" + name; }
  std::string c_root() const { return fs::path(cluster_->state_dir(1)).parent_path().string(); }

  // `ls -q --no-trunc` of a kind of object on a host: ids, one a line.
  std::string ids(int host, const std::string& kind) {
    std::vector<std::string> args{kind, "ls", "-q"};
    if (kind != "config") {
      args.push_back("--no-trunc");
    }
    return c().shoal(host, args).output;
  }

  // Tasks of `service` desired and observed running, as the manager on `host` sees them.
  size_t running(int host, const std::string& service) {
    size_t count = 0;
    for (const auto& row : c().json_rows(host, {"service", "ps", "--no-trunc", service})) {
      if (row.value("DesiredState", "") == "Running" &&
          row.value("CurrentState", "").starts_with("Running")) {
        ++count;
      }
    }
    return count;
  }

  std::map<std::string, std::string> node_status(int host) {
    std::map<std::string, std::string> status;
    for (const auto& row : c().json_rows(host, {"node", "ls"})) {
      status[row.value("Hostname", "")] = row.value("Status", "");
    }
    return status;
  }

  // What the inactive host's state dir would hold after an init, join or restore.
  std::string swarm_files(int host) {
    std::string found;
    for (const char* part : {"/certificates", "/manager", "/node.json"}) {
      if (fs::exists(c().state_dir(host) + part)) {
        found += std::string(part) + " ";
      }
    }
    return found;
  }
};

TEST_F(SwarmBackup, BackupAndRestoreRoundTrip) {
  // The swarm to lose.
  ASSERT_EQ(c().create_app_network({"--subnet", "10.77.0.0/24"}), "");
  {
    std::ofstream out(file("greeting.txt"));
    out << "hello from before the loss\n";
  }
  auto config = c().shoal(1, {"config", "create", "greeting", file("greeting.txt")});
  ASSERT_EQ(config.exit_code, 0) << config.output;
  ASSERT_TRUE(c().create_service("web", 2, web_command(),
                                 {"--publish", "8080:80", "--config", "greeting"}));
  ASSERT_TRUE(c().wait_running("web", 2));
  auto token = c().shoal(1, {"swarm", "join-token", "-q", "worker"});
  ASSERT_EQ(token.exit_code, 0) << token.output;
  const std::string worker_token = first_line(token.output);
  const auto services = ids(1, "service");
  const auto networks = ids(1, "network");
  const auto configs = ids(1, "config");

  const std::string backup = file("swarm.backup");
  auto written = c().shoal(1, {"swarm", "backup", backup});
  ASSERT_EQ(written.exit_code, 0) << written.output;
  EXPECT_THAT(written.output, HasSubstr("Swarm backup written to " + backup +
                                        ": 1 service, 2 networks, 1 config, 2 nodes"));
  struct stat info {};
  ASSERT_EQ(::stat(backup.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "the backup holds the CA key";

  // A worker cannot make one.
  auto refused = c().shoal(2, {"swarm", "backup", file("worker.backup")});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("not a swarm manager"));
  EXPECT_FALSE(fs::exists(file("worker.backup")));

  // The whole swarm is lost.
  ASSERT_EQ(c().shoal(2, {"swarm", "leave"}).exit_code, 0);
  ASSERT_EQ(c().shoal(1, {"swarm", "leave", "--force"}).exit_code, 0);

  // A new host rebuilds it.
  auto restored = c().shoal(
      kRestorer, {"swarm", "restore", backup, "--advertise-addr", c().address(kRestorer)});
  ASSERT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_THAT(restored.output, HasSubstr("Swarm restored from " + backup));
  EXPECT_THAT(restored.output, HasSubstr("shoal swarm join --token " + worker_token + " " +
                                         c().address(kRestorer) + ":2377"));
  auto again = c().shoal(kRestorer, {"swarm", "restore", backup});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.output, HasSubstr("already part of a swarm"));

  EXPECT_EQ(ids(kRestorer, "service"), services);
  EXPECT_EQ(ids(kRestorer, "network"), networks);
  EXPECT_EQ(ids(kRestorer, "config"), configs);
  // The old worker is kept (Down until its agent comes back), the old manager is not.
  bool nodes = wait_until(
      [&] {
        auto status = node_status(kRestorer);
        return status.size() == 2 && status["h3"] == "Ready" && status["h2"] == "Down";
      },
      20s);
  EXPECT_TRUE(nodes) << c().shoal(kRestorer, {"node", "ls"}).output;

  // The service converges on the restored manager and its published port answers.
  EXPECT_TRUE(wait_until([&] { return running(kRestorer, "web") == 2; }, 40s))
      << c().shoal(kRestorer, {"service", "ps", "web"}).output;
  EXPECT_TRUE(wait_until(
      [&] { return c().http_get(kNewWorker, kRestorer, 8080).starts_with("web "); }, 20s));

  // The old join token still admits a node.
  auto joined = c().shoal(
      kNewWorker, {"swarm", "join", "--token", worker_token, c().address(kRestorer) + ":2377"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  EXPECT_TRUE(wait_until([&] { return node_status(kRestorer)["h4"] == "Ready"; }, 20s))
      << c().shoal(kRestorer, {"node", "ls"}).output;
}

TEST_F(SwarmBackup, ACorruptedBackupIsRefusedAndTheNodeStaysInactive) {
  const std::string backup = file("swarm.backup");
  auto written = c().shoal(1, {"swarm", "backup", backup});
  ASSERT_EQ(written.exit_code, 0) << written.output;
  std::string data;
  {
    std::ifstream in(backup, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(data.size(), 100u);

  const std::string cut = file("cut.backup");
  std::ofstream(cut, std::ios::binary) << data.substr(0, data.size() / 2);
  auto truncated = c().shoal(kRestorer, {"swarm", "restore", cut});
  EXPECT_NE(truncated.exit_code, 0);
  EXPECT_THAT(truncated.output,
              HasSubstr("Error response from daemon: invalid backup: truncated or damaged"));

  // Valid JSON, but the CA key is another's (the worker's own key).
  std::string key;
  {
    std::ifstream in(c().state_dir(2) + "/certificates/swarm-node.key");
    key.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string swapped = file("swapped.backup");
  if (!key.empty()) {
    auto doc = nlohmann::json::parse(data);
    doc["ca"]["key_pem"] = key;
    std::ofstream(swapped) << doc.dump();
    auto mismatched = c().shoal(kRestorer, {"swarm", "restore", swapped});
    EXPECT_NE(mismatched.exit_code, 0);
    EXPECT_THAT(mismatched.output, HasSubstr("invalid backup ca:"));
  }

  auto missing = c().shoal(kRestorer, {"swarm", "restore", file("nothing.backup")});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.output, HasSubstr("nothing.backup"));

  EXPECT_EQ(swarm_files(kRestorer), "");
  auto nodes = c().shoal(kRestorer, {"node", "ls"});
  EXPECT_THAT(nodes.output, HasSubstr("not a swarm manager"));
  // And a good backup still restores afterwards: nothing was left behind to trip it.
  auto restored = c().shoal(kRestorer, {"swarm", "restore", backup});
  EXPECT_EQ(restored.exit_code, 0) << restored.output;
}

}  // namespace
}  // namespace shoal::e2e
