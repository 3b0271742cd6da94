// A node's certificates on disk: round trip, modes, missing and corrupt files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "control/pki/ca.h"
#include "control/pki/node_files.h"

namespace shoal::pki {
namespace {

class PkiNodeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pki-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ + "/state";  // does not exist yet: save creates it

    auto ca = CertificateAuthority::create();
    ASSERT_TRUE(ca.ok());
    auto csr = make_key_and_csr();
    ASSERT_TRUE(csr.ok());
    auto cert = ca->sign(csr->csr_pem, {"node1", NodeRole::kWorker, "c1"}, {});
    ASSERT_TRUE(cert.ok());
    files_ = {ca->cert_pem(), *cert, csr->key_pem};
    ca_key_ = ca->key_pem();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  mode_t mode_of(const std::string& name) {
    struct stat st {};
    EXPECT_EQ(::stat((dir_ + "/certificates/" + name).c_str(), &st), 0) << name;
    return st.st_mode & 07777;
  }

  std::string root_;
  std::string dir_;
  NodeFiles files_;
  std::string ca_key_;
};

TEST_F(PkiNodeFiles, SaveLoadRoundTripWithModes) {
  mode_t old = ::umask(0);  // the files' modes must not depend on the umask
  auto saved = save_node_files(dir_, files_);
  ::umask(old);
  ASSERT_TRUE(saved.ok()) << saved.error().message();
  auto loaded = load_node_files(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(*loaded, files_);
  EXPECT_EQ(mode_of("swarm-node.key"), 0600u);
  EXPECT_EQ(mode_of("swarm-node.pem"), 0600u);  // holds the key
  EXPECT_EQ(mode_of("swarm-node.crt"), 0644u);
  EXPECT_EQ(mode_of("swarm-root-ca.crt"), 0644u);
  // Saving again replaces the files and leaves no temporary files behind.
  ASSERT_TRUE(save_node_files(dir_, files_).ok());
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir_ + "/certificates")) {
    ++entries;
  }
  EXPECT_EQ(entries, 4u);
}

// What TLS users watch: one file, the key and then the certificate, so one rename replaces both.
TEST_F(PkiNodeFiles, IdentityFileHoldsKeyThenCertificate) {
  ASSERT_TRUE(save_node_files(dir_, files_).ok());
  EXPECT_EQ(identity_file(dir_), dir_ + "/certificates/swarm-node.pem");
  EXPECT_EQ(ca_file(dir_), dir_ + "/certificates/swarm-root-ca.crt");
  std::ifstream in(identity_file(dir_));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, files_.node_key_pem + files_.node_cert_pem);
}

// A state directory written before renewal existed has no swarm-node.pem: the separate files
// are read, and the next save adds it.
TEST_F(PkiNodeFiles, LoadsTheLayoutWithoutTheIdentityFile) {
  ASSERT_TRUE(save_node_files(dir_, files_).ok());
  std::filesystem::remove(identity_file(dir_));
  auto loaded = load_node_files(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(*loaded, files_);
}

// The identity file is authoritative: a torn pair of separate files (a crash between their
// writes) does not matter while it is whole.
TEST_F(PkiNodeFiles, TheIdentityFileWinsOverTheSeparateFiles) {
  ASSERT_TRUE(save_node_files(dir_, files_).ok());
  auto other = make_key_and_csr();
  ASSERT_TRUE(other.ok());
  std::ofstream(dir_ + "/certificates/swarm-node.key") << other->key_pem;
  auto loaded = load_node_files(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(*loaded, files_);
}

TEST_F(PkiNodeFiles, CaKeyRoundTrip) {
  ASSERT_TRUE(save_ca_key(dir_, ca_key_).ok());
  EXPECT_EQ(mode_of("swarm-root-ca.key"), 0600u);
  auto key = load_ca_key(dir_);
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(*key, ca_key_);
}

TEST_F(PkiNodeFiles, MissingFilesAreEnoent) {
  auto none = load_node_files(dir_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().errnum, ENOENT);
  auto no_key = load_ca_key(dir_);
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().errnum, ENOENT);
}

TEST_F(PkiNodeFiles, CorruptFilesAreNotEnoent) {
  ASSERT_TRUE(save_node_files(dir_, files_).ok());
  std::ofstream(dir_ + "/certificates/swarm-node.pem") << "garbage";
  auto corrupt = load_node_files(dir_);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().errnum, 0);
  EXPECT_NE(corrupt.error().message().find("swarm-node.pem"), std::string::npos);
  std::filesystem::remove(dir_ + "/certificates/swarm-node.pem");
  std::ofstream(dir_ + "/certificates/swarm-node.crt") << "garbage";
  corrupt = load_node_files(dir_);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().errnum, 0);
  EXPECT_NE(corrupt.error().message().find("swarm-node.crt"), std::string::npos);

  // A key that is not the certificate's (a crash between the two writes of a renewal).
  NodeFiles mixed = files_;
  auto other = make_key_and_csr();
  ASSERT_TRUE(other.ok());
  mixed.node_key_pem = other->key_pem;
  ASSERT_TRUE(save_node_files(dir_, mixed).ok());
  auto mismatch = load_node_files(dir_);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().errnum, 0);
  EXPECT_NE(mismatch.error().message().find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace shoal::pki
