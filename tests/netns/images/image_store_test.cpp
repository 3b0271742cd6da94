// The image store with the real tools on simulated hosts: the busybox httpd test image is
// pushed to a docker-registry on host 1 and pulled into a store on host 2 (skopeo run inside
// host 2's namespace), unpacked with umoci, inspected; a missing tag fails with the registry's
// reason; an address nobody holds fails at the store's timeout with no work directory and no
// skopeo left; concurrent pulls of one reference run skopeo once; `docker save` archives load
// in a namespace with no network at all; remove and prune keep an image in use.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>

#include "control/images/image_store.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testbed.h"

namespace shoal::images {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using shoal::testing::CommandResult;
using shoal::testing::Registry;
using shoal::testing::run_command;
using shoal::testing::TempDir;
using shoal::testing::Testbed;

class TestEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { shoal::testing::clean_stale_runs(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new TestEnvironment);

constexpr uint16_t kPort = 5000;
constexpr const char* kTag = "test";
constexpr const char* kRepoTag = "shoal/httpd:test";
const std::vector<std::string> kCmd{"httpd", "-f", "-p", "80", "-h", "/www"};

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir, ec))
    ++n;
  return n;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The real tools, counted: how many skopeo copies a store asked for.
class CountingTools : public ProcessTools {
 public:
  using ProcessTools::ProcessTools;
  Result<ToolOutcome> copy(const CopyRequest& request) override {
    ++copies;
    return ProcessTools::copy(request);
  }
  std::atomic<int> copies{0};
};

// The test image (scripts/images/build-test-image.sh) in a directory of the test's own.
class BuiltImage {
 public:
  BuiltImage() { built_ = run_command({SHOAL_BUILD_TEST_IMAGE, dir_.path(), kRepoTag}, 30000); }
  bool ok() const { return built_.ok() && built_->exit_code == 0; }
  std::string failure() const { return built_.ok() ? built_->output : built_.error().message(); }
  std::string layout() const { return dir_.at("oci"); }
  std::string archive() const { return dir_.at("image.tar"); }

 private:
  TempDir dir_{"shoal-test-image"};
  Result<CommandResult> built_ = CommandResult{};
};

// What a store at `root` must hold after a test: nothing being worked on.
void expect_no_work_left(const std::string& root) {
  EXPECT_EQ(entries(root + "/tmp"), 0u) << "work directories left in " << root << "/tmp";
}

// `docker save` archives load with no network: skopeo runs in a namespace of its own with
// only a loopback that is down.
TEST(ImageStoreLoad, DockerSaveArchiveLoadsAndUnpacksOffline) {
  BuiltImage image;
  ASSERT_TRUE(image.ok()) << image.failure();
  TempDir root("shoal-test-store");
  auto tools = std::make_shared<CountingTools>(std::vector<std::string>{"unshare", "--net"});
  auto opened = ImageStore::open(root.at("images"), tools);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  ImageStore& store = **opened;

  auto start = Clock::now();
  auto loaded = store.load(image.archive(), std::chrono::seconds(30));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  std::cout << "load: " << ms_since(start) << " ms\n";
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().reference, "docker.io/shoal/httpd:test");

  start = Clock::now();
  auto rootfs = store.unpack("shoal/httpd:test");
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  std::cout << "unpack: " << ms_since(start) << " ms\n";
  EXPECT_TRUE(fs::exists(*rootfs + "/bin/busybox"));
  EXPECT_NE(read(*rootfs + "/www/index.html").find("Hello from the shoal test image."),
            std::string::npos);
  auto config = store.inspect("shoal/httpd:test");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->cmd, kCmd);
  EXPECT_EQ(config->stop_signal, "SIGINT");
  expect_no_work_left(store.root());
}

// Two OCI archives made with umoci and skopeo in DIR: wh.tar (docker.io/library/wh:1), whose
// second layer deletes d/gone (a whiteout), and evil.tar (docker.io/library/evil:1), that image
// plus a layer holding `../evil` (GNU tar -P keeps the `..`; umoci add-layer adds it verbatim).
constexpr const char* kMakeArchives = R"(set -eu
cd "$1"
umoci init --layout L
umoci new --image L:wh
umoci unpack --image L:wh b >/dev/null
mkdir -p b/rootfs/d
echo keep >b/rootfs/d/keep
echo gone >b/rootfs/d/gone
umoci repack --image L:wh b >/dev/null
rm b/rootfs/d/gone
umoci repack --image L:wh b >/dev/null
skopeo copy --quiet oci:L:wh oci-archive:"$1"/wh.tar:docker.io/library/wh:1
mkdir -p x/sub
echo evil >x/evil
(cd x/sub && tar -cf "$1"/evil-layer.tar -P ../evil)
umoci raw add-layer --image L:wh evil-layer.tar
skopeo copy --quiet oci:L:wh oci-archive:"$1"/evil.tar:docker.io/library/evil:1
)";

// OCI archives load by their image name; whiteouts are applied by the unpack; a layer with an
// entry outside the rootfs is refused before umoci sees it (umoci would clamp it into the rootfs).
TEST(ImageStoreLoad, OciArchiveWhiteoutsAndAnEscapingLayer) {
  TempDir dir("shoal-test-archives");
  auto made = run_command({"sh", "-c", kMakeArchives, "sh", dir.path()}, 30000);
  ASSERT_TRUE(made.ok() && made->exit_code == 0) << (made.ok() ? made->output : "");
  TempDir root("shoal-test-store");
  auto opened = ImageStore::open(root.at("images"), std::make_shared<ProcessTools>());
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  ImageStore& store = **opened;

  auto loaded = store.load(dir.at("wh.tar"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().reference, "docker.io/library/wh:1");
  auto rootfs = store.unpack("wh:1");
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  EXPECT_TRUE(fs::exists(*rootfs + "/d/keep"));
  EXPECT_FALSE(fs::exists(*rootfs + "/d/gone")) << "the whiteout was not applied";
  EXPECT_FALSE(fs::exists(*rootfs + "/d/.wh.gone"));

  auto evil = store.load(dir.at("evil.tar"));
  ASSERT_TRUE(evil.ok()) << evil.error().message();
  auto refused = store.unpack("evil:1");
  ASSERT_FALSE(refused.ok());
  const std::string message = refused.error().message();
  EXPECT_NE(message.find("\"../evil\": it points outside the rootfs"), std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(store.rootfs_path(evil->front().config_digest)));
  expect_no_work_left(store.root());
}

// Two simulated hosts: the registry on host 1, the store's skopeo in host 2.
class ImageStoreNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(image_.ok()) << image_.failure();
    auto made = Testbed::create(2);
    ASSERT_TRUE(made.ok()) << made.error().message();
    testbed_ = std::move(*made);
    registry_ = std::make_unique<Registry>(testbed_->host_ns(1), testbed_->host_ip(1).str(), kPort);
    const Status started = registry_->start();
    ASSERT_TRUE(started.ok()) << started.error().message();
    const Status pushed = registry_->push(image_.layout(), kTag, kRepoTag);
    ASSERT_TRUE(pushed.ok()) << pushed.error().message();
    tools_ = std::make_shared<CountingTools>(
        std::vector<std::string>{"ip", "netns", "exec", testbed_->host_ns(2)});
    auto opened = ImageStore::open(root_.at("images"), tools_);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    store_ = std::move(*opened);
    options_.insecure_registries = {registry_->address()};
    options_.timeout = std::chrono::seconds(30);
  }
  void TearDown() override {
    store_.reset();
    registry_.reset();  // before the namespaces go
    testbed_.reset();
  }

  BuiltImage image_;
  TempDir root_{"shoal-test-store"};  // outlives the testbed
  std::unique_ptr<Testbed> testbed_;
  std::unique_ptr<Registry> registry_;
  std::shared_ptr<CountingTools> tools_;
  std::unique_ptr<ImageStore> store_;
  PullOptions options_;
};

TEST_F(ImageStoreNetns, PullsUnpacksAndInspectsFromAnotherHost) {
  const std::string ref = registry_->reference(kRepoTag);
  auto start = Clock::now();
  auto pulled = store_->pull(ref, options_);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  std::cout << "pull: " << ms_since(start) << " ms\n";
  EXPECT_EQ(pulled->reference, ref);

  start = Clock::now();
  auto rootfs = store_->unpack(ref);
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  std::cout << "unpack: " << ms_since(start) << " ms\n";
  EXPECT_EQ(*rootfs, store_->rootfs_path(pulled->config_digest));
  EXPECT_TRUE(fs::exists(*rootfs + "/bin/busybox"));
  EXPECT_TRUE(fs::exists(*rootfs + "/www/index.html"));
  EXPECT_NE(read(*rootfs + "/etc/passwd").find("www:x:33:33:"), std::string::npos);
  auto config = store_->inspect(ref);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->cmd, kCmd);
  EXPECT_EQ(config->working_dir, "/www");

  // By digest: pulled once, then present and not pulled again.
  const std::string by_digest = registry_->reference("shoal/httpd@" + pulled->manifest_digest);
  ASSERT_TRUE(store_->pull(by_digest, options_).ok());
  const int copies = tools_->copies.load();
  start = Clock::now();
  auto again = store_->pull(by_digest, options_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(tools_->copies.load(), copies);
  EXPECT_EQ(again->config_digest, pulled->config_digest);
  std::cout << "pull of a present digest: " << ms_since(start) << " ms\n";
  EXPECT_EQ(entries(store_->root() + "/layouts"), 1u);
  expect_no_work_left(store_->root());
}

TEST_F(ImageStoreNetns, MissingTagFailsWithTheRegistrysReason) {
  const std::string ref = registry_->reference("shoal/httpd:no-such-tag");
  auto pulled = store_->pull(ref, options_);
  ASSERT_FALSE(pulled.ok());
  const std::string message = pulled.error().message();
  std::cout << message << "\n";
  EXPECT_EQ(message.rfind("pull " + ref + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("manifest unknown"), std::string::npos) << message;
  EXPECT_TRUE(store_->list().empty());
  expect_no_work_left(store_->root());
}

TEST_F(ImageStoreNetns, UnreachableRegistryFailsAtTheTimeout) {
  // An address of host 2's subnet that no namespace holds: nothing answers, not even a reset.
  const std::string ref = "198.51.100.99:5000/shoal/httpd:test";
  PullOptions options{.insecure_registries = {"198.51.100.99:5000"},
                      .timeout = std::chrono::seconds(2)};
  const auto start = Clock::now();
  auto pulled = store_->pull(ref, options);
  const long long took = ms_since(start);
  std::cout << "unreachable: " << took << " ms\n";
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().message(), "pull " + ref + ": timed out after 2 s");
  EXPECT_LT(took, 3000);
  expect_no_work_left(store_->root());
  auto pids = run_command({"ip", "netns", "pids", testbed_->host_ns(2)});
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(pids->output, "") << "skopeo left running in host 2";
}

TEST_F(ImageStoreNetns, ConcurrentPullsOfOneReferenceRunSkopeoOnce) {
  const std::string ref = registry_->reference(kRepoTag);
  std::vector<std::future<Result<ImageRecord>>> pulls;
  const auto start = Clock::now();
  for (int i = 0; i < 4; ++i)
    pulls.push_back(std::async(std::launch::async, [&] { return store_->pull(ref, options_); }));
  std::string config;
  for (auto& pull : pulls) {
    auto got = pull.get();
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_TRUE(config.empty() || config == got->config_digest);
    config = got->config_digest;
  }
  std::cout << "4 concurrent pulls: " << ms_since(start) << " ms\n";
  EXPECT_EQ(tools_->copies.load(), 1);
  EXPECT_EQ(store_->list().size(), 1u);
  expect_no_work_left(store_->root());
}

TEST_F(ImageStoreNetns, RemoveAndPruneKeepAnImageInUse) {
  const std::string ref = registry_->reference(kRepoTag);
  auto pulled = store_->pull(ref, options_);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  auto rootfs = store_->unpack(ref);
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  // The same image under a second name; the docker-archive round trip rewrote its config
  // (Docker's config format), so it is a second image with the same layer.
  auto loaded = store_->load(image_.archive());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(store_->list().size(), 2u);
  const std::string loaded_config = loaded->front().config_digest;

  const InUse in_use{ref};
  auto pruned = store_->prune(in_use);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message();
  EXPECT_EQ(pruned->references, std::vector<std::string>{"docker.io/shoal/httpd:test"});
  const std::vector<std::string> loaded_only = loaded_config == pulled->config_digest
                                                   ? std::vector<std::string>{}
                                                   : std::vector<std::string>{loaded_config};
  EXPECT_EQ(pruned->images, loaded_only) << "the pulled image is in use";
  EXPECT_TRUE(fs::exists(store_->layout_path(pulled->config_digest)));
  const Status removed = store_->remove(ref, in_use);
  ASSERT_FALSE(removed.ok());
  EXPECT_NE(removed.error().message().find("in use by a task"), std::string::npos);
  EXPECT_TRUE(fs::exists(*rootfs + "/bin/busybox"));

  // The task is gone: prune takes the image, its layout and its rootfs.
  pruned = store_->prune({});
  ASSERT_TRUE(pruned.ok()) << pruned.error().message();
  EXPECT_EQ(pruned->images, std::vector<std::string>{pulled->config_digest});
  EXPECT_TRUE(store_->list().empty());
  EXPECT_FALSE(fs::exists(*rootfs));
  EXPECT_EQ(entries(store_->root() + "/layouts"), 0u);
  expect_no_work_left(store_->root());
}

}  // namespace
}  // namespace shoal::images
