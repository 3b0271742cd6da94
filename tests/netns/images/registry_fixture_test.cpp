// The offline image fixtures with the real tools: scripts/images/build-test-image.sh builds the
// busybox httpd image, a docker-registry runs on simulated host 1 and the image is pushed there,
// then host 2 inspects and pulls it over the underlay with skopeo, as a worker pulls a service's
// image. Also: a missing tag is the registry's "manifest unknown", the `docker save` archive
// imports without any network, and the fixture leaves no process or directory behind.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testbed.h"

namespace shoal::testing {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

class TestEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { clean_stale_runs(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new TestEnvironment);

constexpr uint16_t kPort = 5000;
constexpr const char* kTag = "test";
constexpr const char* kRepoTag = "shoal/httpd:test";

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The JSON document in a command's output (stderr is merged in: skip anything before it).
json parse_json(const std::string& output) {
  const size_t start = output.find('{');
  return start == std::string::npos ? json() : json::parse(output.substr(start), nullptr, false);
}

// The image's OCI config from skopeo, or null with the reason in `why`.
json inspect_config(const std::string& ns, const std::vector<std::string>& source_args,
                    std::string& why) {
  std::vector<std::string> argv{"skopeo", "inspect", "--config"};
  argv.insert(argv.end(), source_args.begin(), source_args.end());
  auto got = ns.empty() ? run_command(argv, 30000) : run_in_ns(ns, argv, 30000);
  if (!got.ok() || got->exit_code != 0) {
    why = got.ok() ? got->output : got.error().message();
    return json();
  }
  return parse_json(got->output);
}

json diff_ids(const json& config) {
  return config.is_object() ? config.value("/rootfs/diff_ids"_json_pointer, json()) : json();
}

// The test image in a directory of the test's own: dir/oci (tag kTag) and dir/image.tar.
class BuiltImage {
 public:
  BuiltImage() {
    const auto start = Clock::now();
    built_ = run_command({SHOAL_BUILD_TEST_IMAGE, dir_.path(), kRepoTag}, 30000);
    build_ms_ = ms_since(start);
  }
  bool ok() const { return built_.ok() && built_->exit_code == 0; }
  std::string failure() const { return built_.ok() ? built_->output : built_.error().message(); }
  std::string layout() const { return dir_.at("oci"); }
  std::string archive() const { return dir_.at("image.tar"); }
  long long build_ms() const { return build_ms_; }

 private:
  TempDir dir_{"shoal-test-image"};
  Result<CommandResult> built_ = CommandResult{};
  long long build_ms_ = 0;
};

TEST(TestImage, HasTheConfigTheScriptSets) {
  BuiltImage image;
  ASSERT_TRUE(image.ok()) << image.failure();
  std::cout << "image build: " << image.build_ms() << " ms\n";
  std::string why;
  const json config = inspect_config("", {"oci:" + image.layout() + ":" + kTag}, why);
  ASSERT_TRUE(config.is_object()) << why;
  const json& c = config["config"];
  EXPECT_EQ(c["Cmd"], json({"httpd", "-f", "-p", "80", "-h", "/www"}));
  EXPECT_TRUE(c["ExposedPorts"].contains("80/tcp")) << c.dump();
  EXPECT_EQ(c["WorkingDir"], "/www");
  EXPECT_EQ(c["StopSignal"], "SIGINT");
  EXPECT_NE(c["Env"].dump().find("SHOAL_TEST_IMAGE=1"), std::string::npos) << c.dump();
  EXPECT_EQ(diff_ids(config).size(), 1u) << config.dump();
}

TEST(TestImage, BuildingAgainstTheSameDirectoryReplacesTheImage) {
  BuiltImage image;
  ASSERT_TRUE(image.ok()) << image.failure();
  const std::string out = std::filesystem::path(image.layout()).parent_path();
  auto again = run_command({SHOAL_BUILD_TEST_IMAGE, out, kRepoTag}, 30000);
  ASSERT_TRUE(again.ok() && again->exit_code == 0) << (again.ok() ? again->output : "");
  std::ifstream index(image.layout() + "/index.json");
  const json manifests = json::parse(index, nullptr, false)["manifests"];
  EXPECT_EQ(manifests.size(), 1u) << manifests.dump();
  // Nothing but the two outputs is left in the directory (no half-built work dir).
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(out))
    ++entries;
  EXPECT_EQ(entries, 2u);
}

TEST(TestImage, ArchiveImportsOffline) {
  BuiltImage image;
  ASSERT_TRUE(image.ok()) << image.failure();
  TempDir store("shoal-test-import");
  const std::string imported = "oci:" + store.at("oci") + ":imported";
  // No namespace with a network at all: an unshared one, loopback down.
  auto copied = run_command({"unshare", "--net", "skopeo", "copy", "--quiet",
                             "docker-archive:" + image.archive(), imported},
                            30000);
  ASSERT_TRUE(copied.ok());
  ASSERT_EQ(copied->exit_code, 0) << copied->output;
  std::string why;
  const json original = inspect_config("", {"oci:" + image.layout() + ":" + kTag}, why);
  const json config = inspect_config("", {imported}, why);
  ASSERT_TRUE(config.is_object()) << why;
  EXPECT_EQ(config["config"]["Cmd"], original["config"]["Cmd"]);
  EXPECT_EQ(diff_ids(config), diff_ids(original)) << "the layer's contents changed on the way";
}

// Two simulated hosts; the registry on host 1, the puller on host 2.
class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(image_.ok()) << image_.failure();
    auto made = Testbed::create(2);
    ASSERT_TRUE(made.ok()) << made.error().message();
    testbed_ = std::move(*made);
    registry_ = std::make_unique<Registry>(testbed_->host_ns(1), testbed_->host_ip(1).str(), kPort);
  }
  void TearDown() override {
    registry_.reset();  // before the namespaces go
    testbed_.reset();
  }

  Result<CommandResult> on_host2(const std::vector<std::string>& argv) {
    return run_in_ns(testbed_->host_ns(2), argv, 30000);
  }

  BuiltImage image_;
  TempDir store_{"shoal-test-pull"};  // outlives the testbed, so what runs from it dies first
  std::unique_ptr<Testbed> testbed_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryFixture, PushedImageIsInspectedAndPulledFromAnotherHost) {
  auto start = Clock::now();
  const Status started = registry_->start();
  ASSERT_TRUE(started.ok()) << started.error().message();
  std::cout << "registry start: " << ms_since(start) << " ms\n";
  start = Clock::now();
  const Status pushed = registry_->push(image_.layout(), kTag, kRepoTag);
  ASSERT_TRUE(pushed.ok()) << pushed.error().message();
  std::cout << "push: " << ms_since(start) << " ms\n";

  const std::string remote = "docker://" + registry_->reference(kRepoTag);
  std::string why;
  const json config = inspect_config(testbed_->host_ns(2), {"--tls-verify=false", remote}, why);
  ASSERT_TRUE(config.is_object()) << why;
  EXPECT_EQ(config["config"]["Cmd"], json({"httpd", "-f", "-p", "80", "-h", "/www"}));
  EXPECT_TRUE(config["config"]["ExposedPorts"].contains("80/tcp")) << config.dump();

  auto tags = on_host2({"skopeo", "inspect", "--tls-verify=false", remote});
  ASSERT_TRUE(tags.ok() && tags->exit_code == 0) << (tags.ok() ? tags->output : "");
  EXPECT_EQ(parse_json(tags->output)["RepoTags"], json({"test"})) << tags->output;

  TempDir store("shoal-test-pull");
  const std::string pulled = "oci:" + store.at("oci") + ":pulled";
  start = Clock::now();
  auto copied = on_host2({"skopeo", "copy", "--quiet", "--src-tls-verify=false", remote, pulled});
  ASSERT_TRUE(copied.ok());
  ASSERT_EQ(copied->exit_code, 0) << copied->output;
  std::cout << "pull: " << ms_since(start) << " ms\n";
  const json original = inspect_config("", {"oci:" + image_.layout() + ":" + kTag}, why);
  const json local = inspect_config("", {pulled}, why);
  ASSERT_TRUE(local.is_object()) << why;
  EXPECT_EQ(diff_ids(local), diff_ids(original));
  EXPECT_EQ(local["config"], original["config"]);
}

// The pulled image's root filesystem is a working userland: its Cmd, run chrooted in host 2
// (no container runtime involved), serves the index page to host 1.
TEST_F(RegistryFixture, PulledImageServesItsIndexPage) {
  const Status started = registry_->start();
  ASSERT_TRUE(started.ok()) << started.error().message();
  ASSERT_TRUE(registry_->push(image_.layout(), kTag, kRepoTag).ok());
  auto copied = on_host2({"skopeo", "copy", "--quiet", "--src-tls-verify=false",
                          "docker://" + registry_->reference(kRepoTag),
                          "oci:" + store_.at("oci") + ":pulled"});
  ASSERT_TRUE(copied.ok() && copied->exit_code == 0) << (copied.ok() ? copied->output : "");
  auto unpacked = run_command(
      {"umoci", "raw", "unpack", "--image", store_.at("oci") + ":pulled", store_.at("rootfs")});
  ASSERT_TRUE(unpacked.ok() && unpacked->exit_code == 0) << (unpacked.ok() ? unpacked->output : "");

  std::ifstream passwd(store_.at("rootfs") + "/etc/passwd");
  std::stringstream users;
  users << passwd.rdbuf();
  EXPECT_NE(users.str().find("www:x:33:33:"), std::string::npos) << users.str();

  // Without -f, httpd daemonises inside host 2; the testbed's teardown kills it with the
  // namespace's other processes.
  const std::string host2 = testbed_->host_ip(2).str();
  auto served =
      on_host2({"chroot", store_.at("rootfs"), "httpd", "-p", host2 + ":80", "-h", "/www"});
  ASSERT_TRUE(served.ok() && served->exit_code == 0) << (served.ok() ? served->output : "");
  auto page = run_in_ns(testbed_->host_ns(1),
                        {"curl", "-sS", "-m", "2", "--retry", "5", "--retry-connrefused",
                         "--retry-delay", "0", "http://" + host2 + "/"},
                        15000);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->exit_code, 0) << page->output;
  EXPECT_NE(page->output.find("Hello from the shoal test image."), std::string::npos)
      << page->output;
}

TEST_F(RegistryFixture, MissingTagIsManifestUnknown) {
  const Status started = registry_->start();
  ASSERT_TRUE(started.ok()) << started.error().message();
  ASSERT_TRUE(registry_->push(image_.layout(), kTag, kRepoTag).ok());
  auto missing = on_host2({"skopeo", "inspect", "--tls-verify=false",
                           "docker://" + registry_->reference("shoal/httpd:no-such-tag")});
  ASSERT_TRUE(missing.ok());
  EXPECT_NE(missing->exit_code, 0) << missing->output;
  EXPECT_NE(missing->output.find("manifest unknown"), std::string::npos) << missing->output;
}

TEST_F(RegistryFixture, PushToNoRegistryFailsWithSkopeosMessage) {
  // Nothing listens on host 2: the connection is refused at once.
  const Status pushed = push(testbed_->host_ns(1), image_.layout(), kTag,
                             testbed_->host_ip(2).str() + ":5000/shoal/httpd:test");
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.error().message().find("connection refused"), std::string::npos)
      << pushed.error().message();
}

TEST_F(RegistryFixture, StartFailureCarriesTheLogAndLeavesNothingBehind) {
  std::string dir;
  {
    // An address the namespace does not hold: the registry cannot bind and exits.
    Registry elsewhere(testbed_->host_ns(1), "198.51.100.99", kPort);
    dir = elsewhere.directory();
    const Status started = elsewhere.start();
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message().find("cannot assign requested address"), std::string::npos)
        << started.error().message();
    EXPECT_FALSE(elsewhere.running());
  }
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST_F(RegistryFixture, DestructorStopsTheRegistryAndRemovesItsDirectory) {
  const Status started = registry_->start();
  ASSERT_TRUE(started.ok()) << started.error().message();
  const std::string dir = registry_->directory();
  ASSERT_TRUE(std::filesystem::exists(dir + "/storage"));
  auto before = run_command({"ip", "netns", "pids", testbed_->host_ns(1)});
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->output.empty());
  registry_.reset();
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  auto after = run_command({"ip", "netns", "pids", testbed_->host_ns(1)});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->output, "") << "processes left in the namespace";
}

}  // namespace
}  // namespace shoal::testing
