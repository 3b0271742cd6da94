// The CA, node certificates and the identity they carry.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "control/pki/ca.h"
#include "control/pki/identity.h"
#include "control/pki/ossl.h"

namespace shoal::pki {
namespace {

const NodeIdentity kManager{"n1abcdefghijklmnopqrstuvw", NodeRole::kManager, "cluster7"};
const NodeIdentity kWorker{"n2abcdefghijklmnopqrstuvw", NodeRole::kWorker, "cluster7"};

CertificateAuthority new_ca() {
  auto ca = CertificateAuthority::create();
  EXPECT_TRUE(ca.ok()) << ca.error().message();
  return std::move(ca).value();
}

std::string issue(const CertificateAuthority& ca, const NodeIdentity& who,
                  std::vector<std::string> ips = {}) {
  auto csr = make_key_and_csr();
  EXPECT_TRUE(csr.ok()) << csr.error().message();
  auto cert = ca.sign(csr->csr_pem, who, ips);
  EXPECT_TRUE(cert.ok()) << cert.error().message();
  return cert.ok() ? *cert : std::string();
}

struct Sans {
  std::vector<std::string> dns;
  std::vector<std::string> ips;  // raw address bytes as a string
};

Sans sans_of(const std::string& pem) {
  Sans out;
  auto cert = ossl::read_cert(pem, "test certificate");
  EXPECT_TRUE(cert.ok());
  ossl::GeneralNames names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    const ASN1_STRING* s = name->type == GEN_DNS ? name->d.dNSName : name->d.iPAddress;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
    (name->type == GEN_DNS ? out.dns : out.ips).push_back(value);
  }
  return out;
}

// A CSR that asks for a subject of its choosing (an attacker's request).
std::string csr_asking_for(const char* cn, const char* ou, const char* o, bool break_signature) {
  auto key = ossl::generate_p256();
  ossl::X509Req csr(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(csr.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(ou), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(o), -1, -1,
                             0);
  X509_REQ_set_pubkey(csr.get(), key->get());
  X509_REQ_sign(csr.get(), key->get(), EVP_sha256());
  if (break_signature) {
    // Changing the subject after signing: the old signature no longer covers the request.
    ossl::X509Name other(X509_NAME_new());
    X509_NAME_add_entry_by_txt(other.get(), "CN", MBSTRING_ASC,
                               reinterpret_cast<const uint8_t*>("changed"), -1, -1, 0);
    X509_REQ_set_subject_name(csr.get(), other.get());
  }
  auto pem = ossl::write_csr(csr.get());
  return pem.ok() ? *pem : std::string();
}

TEST(PkiCertificateAuthority, CreateAndLoadRoundTrip) {
  auto ca = new_ca();
  EXPECT_NE(ca.cert_pem().find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(ca.key_pem().find("BEGIN PRIVATE KEY"), std::string::npos);
  ASSERT_EQ(ca.fingerprint().size(), 64u);
  EXPECT_EQ(ca.fingerprint().find_first_not_of("0123456789abcdef"), std::string::npos);

  auto loaded = CertificateAuthority::load(ca.cert_pem(), ca.key_pem());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->cert_pem(), ca.cert_pem());
  EXPECT_EQ(loaded->fingerprint(), ca.fingerprint());
  // A certificate signed by the loaded CA verifies against the original's certificate.
  EXPECT_TRUE(verify_issued_by(issue(*loaded, kWorker), ca.cert_pem()).ok());
}

TEST(PkiCertificateAuthority, RootIsACaNamedSwarmCa) {
  auto ca = new_ca();
  auto cert = ossl::read_cert(ca.cert_pem(), "CA");
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(X509_check_ca(cert->get()), 1);
  EXPECT_TRUE(X509_get_key_usage(cert->get()) & KU_KEY_CERT_SIGN);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert->get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "swarm-ca");
  // About 20 years.
  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert->get())), 1);
  EXPECT_GT(days, 20 * 365 - 2);
  EXPECT_LT(days, 20 * 365 + 7);
}

TEST(PkiCertificateAuthority, LoadRejectsAKeyThatIsNotTheCertificates) {
  auto a = new_ca();
  auto b = new_ca();
  auto mixed = CertificateAuthority::load(a.cert_pem(), b.key_pem());
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message().find("does not match"), std::string::npos)
      << mixed.error().message();
  auto garbage = CertificateAuthority::load("not a pem", a.key_pem());
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message().find("CA certificate"), std::string::npos);
}

TEST(PkiCertificateAuthority, LoadRejectsANodeCertificate) {
  auto ca = new_ca();
  auto csr = make_key_and_csr();
  ASSERT_TRUE(csr.ok());
  auto cert = ca.sign(csr->csr_pem, kWorker, {});
  ASSERT_TRUE(cert.ok());
  auto loaded = CertificateAuthority::load(*cert, csr->key_pem);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("not a CA"), std::string::npos);
}

TEST(PkiSign, IdentityComesFromTheCaNotTheCsr) {
  auto ca = new_ca();
  std::string csr = csr_asking_for("admin", "swarm-manager", "other-cluster", false);
  auto cert = ca.sign(csr, kWorker, {});
  ASSERT_TRUE(cert.ok()) << cert.error().message();
  auto who = identity_of(*cert);
  ASSERT_TRUE(who.ok()) << who.error().message();
  EXPECT_EQ(*who, kWorker);

  auto manager = identity_of(issue(ca, kManager));
  ASSERT_TRUE(manager.ok());
  EXPECT_EQ(*manager, kManager);
}

TEST(PkiSign, RejectsACsrWhoseSignatureDoesNotVerify) {
  auto ca = new_ca();
  auto cert = ca.sign(csr_asking_for("a", "b", "c", true), kWorker, {});
  ASSERT_FALSE(cert.ok());
  EXPECT_NE(cert.error().message().find("signature"), std::string::npos) << cert.error().message();
}

// A CSR for a key of the given algorithm ("EC" with a curve name, "RSA" with a size, or
// "ED25519"), self-signed as a node would.
std::string csr_for_key(ossl::Pkey key, bool digest = true) {
  EXPECT_TRUE(key);
  ossl::X509Req csr(X509_REQ_new());
  X509_REQ_set_pubkey(csr.get(), key.get());
  EXPECT_GT(X509_REQ_sign(csr.get(), key.get(), digest ? EVP_sha256() : nullptr), 0);
  auto pem = ossl::write_csr(csr.get());
  return pem.ok() ? *pem : std::string();
}

std::string ec_csr(const char* curve) {
  return csr_for_key(ossl::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)));
}

std::string rsa_csr(size_t bits) {
  return csr_for_key(ossl::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits)));
}

// The review's finding #20: a P-224 key (112-bit security) and keys on any curve were signed.
TEST(PkiSign, TakesOnlyP256P384AndRsa2048OrMore) {
  auto ca = new_ca();
  for (const char* curve : {"P-256", "P-384"}) {
    auto cert = ca.sign(ec_csr(curve), kWorker, {});
    EXPECT_TRUE(cert.ok()) << curve << ": " << cert.error().message();
  }
  auto rsa = ca.sign(rsa_csr(2048), kWorker, {});
  EXPECT_TRUE(rsa.ok()) << rsa.error().message();

  for (const char* curve : {"P-224", "secp256k1", "P-521", "brainpoolP256r1"}) {
    auto cert = ca.sign(ec_csr(curve), kWorker, {});
    ASSERT_FALSE(cert.ok()) << curve << " was signed";
    EXPECT_NE(cert.error().message().find("only P-256 and P-384"), std::string::npos)
        << cert.error().message();
  }
  auto weak_rsa = ca.sign(rsa_csr(1024), kWorker, {});
  ASSERT_FALSE(weak_rsa.ok());
  EXPECT_NE(weak_rsa.error().message().find("RSA key of 1024 bits"), std::string::npos)
      << weak_rsa.error().message();
  auto ed = ca.sign(csr_for_key(ossl::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), false),
                    kWorker, {});
  ASSERT_FALSE(ed.ok());
  EXPECT_NE(ed.error().message().find("neither EC"), std::string::npos) << ed.error().message();
}

TEST(PkiSign, RejectsBadInput) {
  auto ca = new_ca();
  auto csr = make_key_and_csr();
  ASSERT_TRUE(csr.ok());
  EXPECT_FALSE(ca.sign("garbage", kWorker, {}).ok());
  EXPECT_FALSE(ca.sign(csr->csr_pem, {"", NodeRole::kWorker, "c"}, {}).ok());
  EXPECT_FALSE(ca.sign(csr->csr_pem, {"n,CN=evil", NodeRole::kWorker, "c"}, {}).ok());
  EXPECT_FALSE(ca.sign(csr->csr_pem, {"n", NodeRole::kWorker, ""}, {}).ok());
  EXPECT_FALSE(ca.sign(csr->csr_pem, kWorker, {}, std::chrono::hours(0)).ok());
  auto bad_ip = ca.sign(csr->csr_pem, kWorker, {"10.0.0.300"});
  ASSERT_FALSE(bad_ip.ok());
  EXPECT_NE(bad_ip.error().message().find("10.0.0.300"), std::string::npos);
}

TEST(PkiSign, ManagerCertificatesCarryTheManagerTlsName) {
  auto ca = new_ca();
  Sans manager = sans_of(issue(ca, kManager, {"10.0.0.1", "fd00::1"}));
  EXPECT_EQ(manager.dns, (std::vector<std::string>{kManager.node_id, "swarm-manager"}));
  ASSERT_EQ(manager.ips.size(), 2u);
  EXPECT_EQ(manager.ips[0], std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(manager.ips[1].size(), 16u);

  Sans worker = sans_of(issue(ca, kWorker));
  EXPECT_EQ(worker.dns, (std::vector<std::string>{kWorker.node_id}));
  EXPECT_TRUE(worker.ips.empty());
}

TEST(PkiSign, NodeCertificateShape) {
  auto ca = new_ca();
  auto cert = ossl::read_cert(issue(ca, kWorker), "node");
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(X509_check_ca(cert->get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(cert->get()), uint32_t{XKU_SSL_SERVER | XKU_SSL_CLIENT});
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert->get());
  ossl::Bignum bn(ASN1_INTEGER_to_BN(serial, nullptr));
  EXPECT_EQ(BN_num_bits(bn.get()), 128);
  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert->get())), 1);
  long total = long{days} * 86400 + seconds;  // 90 days from now, less the time since signing
  EXPECT_LE(total, 90L * 86400);
  EXPECT_GT(total, 90L * 86400 - 300);
}

TEST(PkiSign, NeverOutlivesTheRoot) {
  auto ca = new_ca();
  auto csr = make_key_and_csr();
  ASSERT_TRUE(csr.ok());
  auto pem = ca.sign(csr->csr_pem, kWorker, {}, std::chrono::hours(24 * 365 * 50));
  ASSERT_TRUE(pem.ok());
  auto cert = ossl::read_cert(*pem, "node");
  auto root = ossl::read_cert(ca.cert_pem(), "CA");
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(cert->get()), X509_get0_notAfter(root->get())), 0);
}

// --cert-expiry: any length from a minute, backdated by a tenth of it at most (an hour at most),
// so that renewing at 50-80% of notBefore..notAfter means 50-80% of the time it is used for.
TEST(PkiSign, ValidityIsTheRequestedLengthBackdatedByATenthAtMost) {
  auto ca = new_ca();
  auto csr = make_key_and_csr();
  ASSERT_TRUE(csr.ok());
  using namespace std::chrono;
  for (seconds validity : {seconds(60), seconds(3600), seconds(hours(24 * 90))}) {
    auto before = system_clock::now();
    auto pem = ca.sign(csr->csr_pem, kWorker, {}, validity);
    ASSERT_TRUE(pem.ok()) << pem.error().message();
    auto after = system_clock::now();
    auto span = validity_of(*pem);
    ASSERT_TRUE(span.ok()) << span.error().message();
    auto backdate = std::min<seconds>(hours(1), validity / 10);
    EXPECT_GE(span->not_after, time_point_cast<seconds>(before) + validity) << validity.count();
    EXPECT_LE(span->not_after, after + validity + seconds(1)) << validity.count();
    EXPECT_GE(span->not_before, time_point_cast<seconds>(before) - backdate) << validity.count();
    EXPECT_LE(span->not_before, after - backdate + seconds(1)) << validity.count();
  }
}

TEST(PkiValidity, RejectsWhatIsNoCertificate) {
  EXPECT_FALSE(validity_of("").ok());
  EXPECT_FALSE(validity_of("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
}

TEST(PkiVerify, AcceptsItsOwnCaAndRejectsAnother) {
  auto ca = new_ca();
  auto other = new_ca();
  std::string cert = issue(ca, kManager);
  EXPECT_TRUE(verify_issued_by(cert, ca.cert_pem()).ok());
  auto wrong = verify_issued_by(cert, other.cert_pem());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("local issuer"), std::string::npos)
      << wrong.error().message();
  // The root is not a node certificate even though it verifies against itself.
  EXPECT_FALSE(verify_issued_by(ca.cert_pem(), ca.cert_pem()).ok());
}

// A root rotation: the new root's certificates carry the new root cross-signed by the old one,
// so a node that trusts only the old root, only the new one, or both, verifies them all.
TEST(PkiRotation, ACrossSignedChainVerifiesAgainstEitherRoot) {
  auto old_root = new_ca();
  auto new_root = new_ca();
  auto cross = old_root.cross_sign(new_root);
  ASSERT_TRUE(cross.ok()) << cross.error().message();
  const std::string chain = issue(new_root, kWorker) + *cross;
  EXPECT_TRUE(verify_issued_by(chain, old_root.cert_pem()).ok());
  EXPECT_TRUE(verify_issued_by(chain, new_root.cert_pem()).ok());
  EXPECT_TRUE(verify_issued_by(chain, old_root.cert_pem() + new_root.cert_pem()).ok());
  EXPECT_TRUE(
      verify_issued_by(issue(old_root, kWorker), old_root.cert_pem() + new_root.cert_pem()).ok());
  // Without the intermediate the old root alone cannot; and a third root trusts neither.
  EXPECT_FALSE(verify_issued_by(issue(new_root, kWorker), old_root.cert_pem()).ok());
  EXPECT_FALSE(verify_issued_by(chain, new_ca().cert_pem()).ok());
  // Once the swarm trusts only the new root, the old root's certificates are refused.
  EXPECT_FALSE(verify_issued_by(issue(old_root, kWorker), new_root.cert_pem()).ok());
}

TEST(PkiRotation, SignedDirectlyByTellsWhichRootSignedALeaf) {
  auto old_root = new_ca();
  auto new_root = new_ca();
  auto cross = old_root.cross_sign(new_root);
  ASSERT_TRUE(cross.ok());
  const std::string moved = issue(new_root, kWorker) + *cross;
  const std::string stayed = issue(old_root, kWorker);
  EXPECT_TRUE(signed_directly_by(moved, new_root.cert_pem()));
  EXPECT_FALSE(signed_directly_by(moved, old_root.cert_pem()));
  EXPECT_TRUE(signed_directly_by(stayed, old_root.cert_pem()));
  EXPECT_FALSE(signed_directly_by(stayed, new_root.cert_pem()));
  EXPECT_FALSE(signed_directly_by("garbage", new_root.cert_pem()));
}

TEST(PkiRotation, TheCrossSignedCertificateIsTheNewRootsKeyUnderTheOldRoot) {
  auto old_root = new_ca();
  auto new_root = new_ca();
  auto cross_pem = old_root.cross_sign(new_root);
  ASSERT_TRUE(cross_pem.ok());
  auto cross = ossl::read_cert(*cross_pem, "cross-signed");
  auto root = ossl::read_cert(new_root.cert_pem(), "new root");
  auto issuer = ossl::read_cert(old_root.cert_pem(), "old root");
  ASSERT_TRUE(cross.ok() && root.ok() && issuer.ok());
  EXPECT_EQ(X509_check_ca(cross->get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cross->get()), X509_get0_pubkey(root->get())), 1);
  EXPECT_EQ(X509_verify(cross->get(), X509_get0_pubkey(issuer->get())), 1);
  EXPECT_LE(ASN1_TIME_compare(X509_get0_notAfter(cross->get()), X509_get0_notAfter(root->get())),
            0);
}

TEST(PkiRotation, ABundleWithACorruptCertificateIsRefused) {
  auto root = new_ca();
  auto cert = issue(root, kWorker);
  EXPECT_FALSE(verify_issued_by(cert, root.cert_pem() + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                                        "-----END CERTIFICATE-----\n")
                   .ok());
  EXPECT_FALSE(verify_issued_by(cert, "").ok());
}

TEST(PkiVerify, RejectsAnExpiredCertificate) {
  auto ca = new_ca();
  auto csr = make_key_and_csr();
  ASSERT_TRUE(csr.ok());
  // One hour of validity from a start backdated by one hour: already at its end, so expired
  // a moment later. Make that certain by rewriting notAfter into the past.
  auto pem = ca.sign(csr->csr_pem, kWorker, {}, std::chrono::hours(1));
  ASSERT_TRUE(pem.ok());
  auto cert = ossl::read_cert(*pem, "node");
  X509_gmtime_adj(X509_getm_notAfter(cert->get()), -60);
  // Re-signing with the CA key keeps the signature valid so only the time check can fail.
  auto ca_key = ossl::read_key(ca.key_pem(), "CA key");
  ASSERT_GT(X509_sign(cert->get(), ca_key->get(), EVP_sha256()), 0);
  auto expired = verify_issued_by(*ossl::write_cert(cert->get()), ca.cert_pem());
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos)
      << expired.error().message();
}

TEST(PkiIdentity, RejectsCertificatesWithoutASwarmSubject) {
  auto ca = new_ca();
  auto root = identity_of(ca.cert_pem());  // CN only
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message().find("OU"), std::string::npos) << root.error().message();
  EXPECT_FALSE(identity_of("").ok());
  EXPECT_FALSE(identity_of("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
}

}  // namespace
}  // namespace shoal::pki
