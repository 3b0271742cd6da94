// The image store's rules with fake tools (no skopeo, umoci or network): what the index holds
// after pulls and failures, single-flight pulls and unpacks, digests present not pulled again,
// archives told apart, layers with escaping paths refused, remove/prune never taking an image
// in use, and no work directory left after any call.
#include "control/images/image_store.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

#include "control/images/tar_scan.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/images/fake_tools.h"

namespace shoal::images {
namespace {

namespace fs = std::filesystem;
using shoal::testing::TempDir;
using testing::FakeImage;
using testing::FakeTools;

constexpr const char* kRef = "registry.test:5000/shoal/httpd:1";
constexpr const char* kSource = "docker://registry.test:5000/shoal/httpd:1";

size_t entries(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir, ec))
    ++n;
  return n;
}

void write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tools_->add(kSource, FakeImage{});
    reopen();
  }
  void reopen() {
    store_.reset();
    auto opened = ImageStore::open(dir_.at("images"), tools_);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    store_ = std::move(*opened);
  }
  std::string at(const std::string& sub) const { return dir_.at("images/" + sub); }

  TempDir dir_{"shoal-image-store"};
  std::shared_ptr<FakeTools> tools_ = std::make_shared<FakeTools>();
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreTest, PullRegistersTheReferenceAndSurvivesReopening) {
  auto pulled = store_->pull(kRef);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_EQ(pulled->reference, kRef);
  EXPECT_EQ(pulled->config_digest, testing::config_digest_of(FakeImage{}));
  EXPECT_EQ(pulled->created, "2026-12-01T00:00:00Z");
  EXPECT_GT(pulled->size, 0);
  EXPECT_TRUE(fs::is_directory(store_->layout_path(pulled->config_digest)));
  EXPECT_EQ(entries(at("tmp")), 0u);
  reopen();
  ASSERT_EQ(store_->list().size(), 1u);
  EXPECT_EQ(store_->list().front(), *pulled);
  auto config = store_->inspect(kRef);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->cmd, std::vector<std::string>{"httpd"});
}

TEST_F(ImageStoreTest, ReferencesAreNormalised) {
  tools_->add("docker://docker.io/library/nginx:latest", FakeImage{.cmd = {"nginx"}});
  auto pulled = store_->pull("nginx");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_EQ(pulled->reference, "docker.io/library/nginx:latest");
  EXPECT_TRUE(store_->find("docker.io/library/nginx").ok());
  EXPECT_EQ(store_->inspect("nginx:latest")->cmd, std::vector<std::string>{"nginx"});
  EXPECT_EQ(store_->find("nginx:other").error().message(), "No such image: nginx:other");
}

TEST_F(ImageStoreTest, FailedPullCarriesTheReasonAndChangesNothing) {
  ASSERT_TRUE(store_->pull(kRef).ok());
  auto missing = store_->pull("registry.test:5000/shoal/httpd:missing");
  ASSERT_FALSE(missing.ok());
  const std::string message = missing.error().message();
  EXPECT_EQ(message.rfind("pull registry.test:5000/shoal/httpd:missing: ", 0), 0u) << message;
  EXPECT_NE(message.find("manifest unknown"), std::string::npos) << message;
  EXPECT_EQ(message.find("level=fatal"), std::string::npos) << message;
  EXPECT_EQ(store_->list().size(), 1u);
  EXPECT_EQ(entries(at("tmp")), 0u);
  EXPECT_EQ(entries(at("layouts")), 1u);
}

TEST_F(ImageStoreTest, TimeoutSaysSoAndLeavesNoWorkDirectory) {
  tools_->time_out = true;
  auto pulled = store_->pull(
      kRef, PullOptions{.insecure_registries = {}, .timeout = std::chrono::seconds(3)});
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().message(), std::string("pull ") + kRef + ": timed out after 3 s");
  EXPECT_EQ(entries(at("tmp")), 0u);
  EXPECT_TRUE(store_->list().empty());
  EXPECT_EQ(tools_->requests().back().timeout, std::chrono::seconds(3));
}

TEST_F(ImageStoreTest, PlainHttpOnlyForInsecureRegistries) {
  tools_->add("docker://other.test/x:1", FakeImage{.cmd = {"x"}});
  const PullOptions options{.insecure_registries = {"registry.test:5000"}};
  ASSERT_TRUE(store_->pull(kRef, options).ok());
  ASSERT_TRUE(store_->pull("other.test/x:1", options).ok());
  const auto requests = tools_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_FALSE(requests[0].tls_verify);
  EXPECT_TRUE(requests[1].tls_verify);
}

TEST_F(ImageStoreTest, ConcurrentPullsOfOneReferenceShareOneCopy) {
  tools_->close_gate();
  std::vector<std::future<Result<ImageRecord>>> pulls;
  for (int i = 0; i < 8; ++i)
    pulls.push_back(std::async(std::launch::async, [&] { return store_->pull(kRef); }));
  ASSERT_TRUE(tools_->wait_waiting(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others reach the flight
  tools_->open_gate();
  for (auto& pull : pulls) {
    auto got = pull.get();
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(got->config_digest, testing::config_digest_of(FakeImage{}));
  }
  EXPECT_EQ(tools_->copies.load(), 1);
  EXPECT_EQ(entries(at("tmp")), 0u);
}

TEST_F(ImageStoreTest, DifferentReferencesPullInParallel) {
  tools_->add("docker://registry.test:5000/other:1", FakeImage{.cmd = {"other"}});
  tools_->close_gate();
  auto a = std::async(std::launch::async, [&] { return store_->pull(kRef); });
  auto b =
      std::async(std::launch::async, [&] { return store_->pull("registry.test:5000/other:1"); });
  EXPECT_TRUE(tools_->wait_waiting(2)) << "the second copy waited for the first";
  tools_->open_gate();
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
  EXPECT_EQ(store_->list().size(), 2u);
}

TEST_F(ImageStoreTest, TwoReferencesToOneImageShareItsLayout) {
  tools_->add("docker://registry.test:5000/shoal/httpd:latest", FakeImage{});
  ASSERT_TRUE(store_->pull(kRef).ok());
  ASSERT_TRUE(store_->pull("registry.test:5000/shoal/httpd").ok());
  EXPECT_EQ(store_->list().size(), 2u);
  EXPECT_EQ(entries(at("layouts")), 1u);
  EXPECT_EQ(entries(at("tmp")), 0u);
}

TEST_F(ImageStoreTest, PresentDigestIsNotPulledAgainButATagIs) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  tools_->add("docker://registry.test:5000/shoal/httpd@" + digest, FakeImage{});
  const std::string by_digest = "registry.test:5000/shoal/httpd@" + digest;
  ASSERT_TRUE(store_->pull(by_digest).ok());
  ASSERT_TRUE(store_->pull(by_digest).ok());
  EXPECT_EQ(tools_->copies.load(), 1);
  ASSERT_TRUE(store_->pull(kRef).ok());
  ASSERT_TRUE(store_->pull(kRef).ok());
  EXPECT_EQ(tools_->copies.load(), 3);
}

TEST_F(ImageStoreTest, UnpacksOnceAndConcurrentUnpacksShareTheRun) {
  ASSERT_TRUE(store_->pull(kRef).ok());
  std::vector<std::future<Result<std::string>>> unpacks;
  for (int i = 0; i < 4; ++i)
    unpacks.push_back(std::async(std::launch::async, [&] { return store_->unpack(kRef); }));
  std::string path;
  for (auto& unpack : unpacks) {
    auto got = unpack.get();
    ASSERT_TRUE(got.ok()) << got.error().message();
    path = *got;
  }
  EXPECT_EQ(path, store_->rootfs_path(testing::config_digest_of(FakeImage{})));
  EXPECT_TRUE(fs::exists(path + "/unpacked-from"));
  ASSERT_TRUE(store_->unpack(kRef).ok());
  EXPECT_EQ(tools_->unpacks.load(), 1);
  EXPECT_EQ(entries(at("tmp")), 0u);
}

TEST_F(ImageStoreTest, LayersWithEscapingPathsAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"../escape", ""}, {"/etc/abs", ""}, {"a/../../b", ""}, {"ok", "../via-pax"}};
  for (const auto& [name, pax] : cases) {
    SCOPED_TRACE(name + " " + pax);
    const std::string ref = "registry.test:5000/evil:" + std::to_string(tools_->copies.load());
    tools_->add(
        "docker://" + ref,
        FakeImage{.cmd = {name}, .layer = testing::make_tar({{"fine", "x"}, {name, "x"}}, pax)});
    ASSERT_TRUE(store_->pull(ref).ok());
    auto unpacked = store_->unpack(ref);
    ASSERT_FALSE(unpacked.ok());
    const std::string message = unpacked.error().message();
    EXPECT_NE(message.find("\"" + (pax.empty() ? name : pax) + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("outside the rootfs"), std::string::npos) << message;
  }
  EXPECT_EQ(tools_->unpacks.load(), 0);
  EXPECT_EQ(entries(at("rootfs")), 0u);
  EXPECT_EQ(entries(at("tmp")), 0u);
}

TEST_F(ImageStoreTest, RemoveRefusesAnImageInUseAndUntagsOtherwise) {
  tools_->add("docker://registry.test:5000/shoal/httpd:2", FakeImage{});
  ASSERT_TRUE(store_->pull(kRef).ok());
  ASSERT_TRUE(store_->pull("registry.test:5000/shoal/httpd:2").ok());
  const std::string config = testing::config_digest_of(FakeImage{});
  ASSERT_TRUE(store_->unpack(kRef).ok());

  // A reference a task names is refused, however it is spelled.
  Status removed = store_->remove(kRef, {"registry.test:5000/shoal/httpd:1"});
  ASSERT_FALSE(removed.ok());
  EXPECT_NE(removed.error().message().find("in use by a task"), std::string::npos);
  // Another tag of an image in use (by digest) is only a name: it goes, the image stays.
  ASSERT_TRUE(store_->remove("registry.test:5000/shoal/httpd:2", {config}).ok());
  EXPECT_EQ(store_->list().size(), 1u);
  // The last reference of an image in use is refused.
  EXPECT_FALSE(store_->remove(kRef, {config}).ok());
  EXPECT_TRUE(fs::exists(store_->rootfs_path(config)));
  // Not in use: the reference, the layout and the rootfs go.
  ASSERT_TRUE(store_->remove(kRef, {}).ok());
  EXPECT_TRUE(store_->list().empty());
  EXPECT_EQ(entries(at("layouts")), 0u);
  EXPECT_EQ(entries(at("rootfs")), 0u);
  EXPECT_EQ(entries(at("tmp")), 0u);
  EXPECT_EQ(store_->remove(kRef, {}).error().message(), std::string("No such image: ") + kRef);
}

TEST_F(ImageStoreTest, PruneKeepsWhatIsInUseAndRemovesTheRestAndOrphans) {
  tools_->add("docker://docker.io/library/nginx:latest", FakeImage{.cmd = {"nginx"}});
  tools_->add("docker://registry.test:5000/old:1", FakeImage{.cmd = {"old"}});
  ASSERT_TRUE(store_->pull(kRef).ok());
  ASSERT_TRUE(store_->pull("nginx").ok());
  ASSERT_TRUE(store_->pull("registry.test:5000/old:1").ok());
  ASSERT_TRUE(store_->unpack("registry.test:5000/old:1").ok());
  ASSERT_TRUE(store_->unpack("nginx").ok());
  fs::create_directories(at("rootfs/" + std::string(64, 'b')));  // left by a crash
  const std::string kept = testing::config_digest_of(FakeImage{});

  auto report = store_->prune({"nginx", kept});  // a familiar name and a digest
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->references, std::vector<std::string>{"registry.test:5000/old:1"});
  EXPECT_EQ(report->images.size(), 2u);  // old's and the orphan
  std::vector<std::string> left;
  for (const ImageRecord& record : store_->list())
    left.push_back(record.reference);
  EXPECT_EQ(left, (std::vector<std::string>{"docker.io/library/nginx:latest", kRef}));
  EXPECT_TRUE(fs::exists(store_->rootfs_path(store_->find("nginx")->config_digest)));
  EXPECT_EQ(entries(at("layouts")), 2u);
  EXPECT_EQ(entries(at("rootfs")), 1u);
  EXPECT_EQ(entries(at("tmp")), 0u);

  ASSERT_TRUE(store_->prune({}).ok());
  EXPECT_TRUE(store_->list().empty());
  EXPECT_EQ(entries(at("layouts")), 0u);
}

TEST_F(ImageStoreTest, FailedIndexWriteLeavesTheStoreAsItWas) {
  ASSERT_TRUE(store_->pull(kRef).ok());
  tools_->add("docker://registry.test:5000/other:1", FakeImage{.cmd = {"other"}});
  // A directory where images.json's temporary file must be renamed to: the write fails.
  fs::remove(at("images.json"));
  fs::create_directories(at("images.json/blocker"));
  auto pulled = store_->pull("registry.test:5000/other:1");
  EXPECT_FALSE(pulled.ok());
  EXPECT_EQ(store_->list().size(), 1u);
  EXPECT_EQ(entries(at("layouts")), 1u);
  EXPECT_EQ(entries(at("tmp")), 0u);
}

TEST_F(ImageStoreTest, CorruptIndexIsRefusedAtOpen) {
  ASSERT_TRUE(store_->pull(kRef).ok());
  store_.reset();
  write(at("images.json"), R"({"version":1,"images":{"nginx":{"config":"x","manifest":"y"}}})");
  auto opened = ImageStore::open(dir_.at("images"), tools_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message().find("not a canonical reference"), std::string::npos);
}

TEST_F(ImageStoreTest, OpenEmptiesTmpAndRefusesBadRoots) {
  fs::create_directories(at("tmp/pull-dead/layout"));
  reopen();
  EXPECT_EQ(entries(at("tmp")), 0u);
  auto second = ImageStore::open(dir_.at("images"), tools_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("another image store has it open"), std::string::npos)
      << second.error().message();
  EXPECT_FALSE(ImageStore::open("relative/dir", tools_).ok());
  EXPECT_FALSE(ImageStore::open(dir_.at("a:b"), tools_).ok());
}

TEST_F(ImageStoreTest, LoadsADockerArchiveWithAllItsReferences) {
  const std::string archive = dir_.at("image.tar");
  write(archive, testing::make_tar(
                     {{"manifest.json", R"([{"Config":"c.json","RepoTags":["shoal/httpd:test",)"
                                        R"("registry.test:5000/x:2"],"Layers":["l.tar"]}])"},
                      {"c.json", "{}"}}));
  tools_->add("docker-archive:" + archive + ":@0", FakeImage{});
  auto loaded = store_->load(archive);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].reference, "docker.io/shoal/httpd:test");
  EXPECT_EQ((*loaded)[1].reference, "registry.test:5000/x:2");
  EXPECT_EQ(store_->list().size(), 2u);
  EXPECT_EQ(entries(at("tmp")), 0u);
}

TEST_F(ImageStoreTest, LoadsAnOciArchiveByItsImageNames) {
  const std::string archive = dir_.at("oci.tar");
  write(archive,
        testing::make_tar(
            {{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
             {"index.json",
              R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + std::string(64, 'c') +
                  R"(","size":1,"annotations":{"io.containerd.image.name":)"
                  R"("docker.io/library/web:1","org.opencontainers.image.ref.name":"1"}}]})"}}));
  tools_->add("oci-archive:" + archive + ":1", FakeImage{});
  auto loaded = store_->load(archive);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().reference, "docker.io/library/web:1");
}

TEST_F(ImageStoreTest, LoadIsAllOrNothingAndRefusesOtherFiles) {
  const std::string archive = dir_.at("two.tar");
  write(archive,
        testing::make_tar({{"manifest.json", R"([{"RepoTags":["a:1"]},{"RepoTags":["b:1"]}])"}}));
  tools_->add("docker-archive:" + archive + ":@0", FakeImage{});  // @1 fails
  auto loaded = store_->load(archive);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("manifest unknown"), std::string::npos);
  EXPECT_TRUE(store_->list().empty());
  EXPECT_EQ(entries(at("layouts")), 0u);
  EXPECT_EQ(entries(at("tmp")), 0u);

  write(dir_.at("plain.tar"), testing::make_tar({{"hello.txt", "hi"}}));
  auto other = store_->load(dir_.at("plain.tar"));
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message().find("neither a docker save archive"), std::string::npos);
  write(dir_.at("junk.tar"), std::string(2048, 'j'));
  EXPECT_FALSE(store_->load(dir_.at("junk.tar")).ok());
  write(dir_.at("untagged.tar"), testing::make_tar({{"manifest.json", R"([{"RepoTags":null}])"}}));
  auto untagged = store_->load(dir_.at("untagged.tar"));
  ASSERT_FALSE(untagged.ok());
  EXPECT_NE(untagged.error().message().find("carries no reference"), std::string::npos);
}

TEST(SingleFlight, AThrowingRunFreesItsKey) {
  SingleFlight<int> flight;
  EXPECT_THROW(flight.run("k", []() -> int { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_EQ(flight.running(), 0u);
  bool joined = true;
  EXPECT_EQ(flight.run(
                "k", [] { return 7; }, &joined),
            7);
  EXPECT_FALSE(joined);
}

TEST(TarScan, ReadsGzipAndPaxAndChecksEveryEntry) {
  TempDir dir("shoal-tar-scan");
  const std::string tar = testing::make_tar({{"a", "1"}, {"b/c", "22"}, {"x", "3"}}, "d/e");
  gzFile out = gzopen(dir.at("l.tar.gz").c_str(), "wb");
  ASSERT_NE(out, nullptr);
  gzwrite(out, tar.data(), static_cast<unsigned>(tar.size()));
  gzclose(out);
  std::vector<std::string> paths;
  auto walked = walk_tar(dir.at("l.tar.gz"),
                         [&](const TarEntry& entry) {
                           paths.push_back(entry.path);
                           return Status{};
                         },
                         {"b/c"});
  ASSERT_TRUE(walked.ok()) << walked.error().message();
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "b/c", "d/e"}));
  EXPECT_EQ((*walked)["b/c"], "22");
  EXPECT_TRUE(check_layer_paths(dir.at("l.tar.gz")).ok());
}

TEST(TarScan, ContainmentRules) {
  auto contained = [](std::string path, char type = '0', std::string link = "") {
    return check_entry_contained(TarEntry{std::move(path), type, 0, std::move(link)}).ok();
  };
  EXPECT_TRUE(contained("./etc/passwd"));
  EXPECT_TRUE(contained("a/..b/c..d"));
  EXPECT_TRUE(contained("bin/sh", '2', "/usr/bin/busybox"));  // symlinks may be absolute
  EXPECT_FALSE(contained("/etc/passwd"));
  EXPECT_FALSE(contained(".."));
  EXPECT_FALSE(contained("a/../../b"));
  EXPECT_FALSE(contained("a/.."));
  EXPECT_FALSE(contained("hard", '1', "../../etc/shadow"));
  EXPECT_FALSE(contained("hard", '1', "/etc/shadow"));
}

TEST(Tools, RunBoundedCapturesOutputAndKillsAtTheLimit) {
  auto ran = run_bounded({"sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(5));
  ASSERT_TRUE(ran.ok()) << ran.error().message();
  EXPECT_EQ(ran->exit_code, 3);
  EXPECT_EQ(ran->output, "out\nerr\n");
  const auto start = std::chrono::steady_clock::now();
  // The child keeps the output open through a grandchild: the group kill ends both.
  auto slow = run_bounded({"sh", "-c", "sleep 30 & sleep 30"}, std::chrono::milliseconds(300));
  ASSERT_TRUE(slow.ok());
  EXPECT_TRUE(slow->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  auto absent = run_bounded({"/nonexistent/skopeo"}, std::chrono::seconds(1));
  EXPECT_FALSE(absent.ok());
}

TEST(Tools, ReasonIsSkopeosMessage) {
  EXPECT_EQ(tool_reason("time=\"x\" level=fatal msg=\"reading manifest: \\\"t\\\" unknown\"\n"),
            "reading manifest: \"t\" unknown");
  EXPECT_EQ(tool_reason("line one\nError: it broke\n\n"), "Error: it broke");
  EXPECT_EQ(tool_reason(""), "no output");
}

}  // namespace
}  // namespace shoal::images
