// Revocation lists for etcd (control/pki/crl.h): a CRL the CA signs names exactly the serials
// given, verifies against that CA only, and bad serials are refused.
#include "control/pki/crl.h"

#include <gtest/gtest.h>

#include "control/pki/ca.h"
#include "control/pki/identity.h"

namespace shoal::pki {
namespace {

using namespace std::chrono_literals;

const NodeIdentity kManager{"n1abcdefghijklmnopqrstuvw", NodeRole::kManager, "cluster7"};

CertificateAuthority new_ca() {
  auto ca = CertificateAuthority::create();
  EXPECT_TRUE(ca.ok()) << ca.error().message();
  return std::move(ca).value();
}

std::string serial_of_new_certificate(const CertificateAuthority& ca) {
  auto csr = make_key_and_csr();
  EXPECT_TRUE(csr.ok());
  auto cert = ca.sign(csr->csr_pem, kManager, {});
  EXPECT_TRUE(cert.ok());
  auto serial = serial_of(*cert);
  EXPECT_TRUE(serial.ok());
  return serial.ok() ? *serial : std::string();
}

TEST(RevocationList, NamesExactlyTheSerialsGivenAndVerifiesAgainstItsCa) {
  auto ca = new_ca();
  const auto revoked = serial_of_new_certificate(ca);
  const auto kept = serial_of_new_certificate(ca);
  ASSERT_NE(revoked, kept);
  auto crl = ca.revocation_list({revoked}, 1h);
  ASSERT_TRUE(crl.ok()) << crl.error().message();
  EXPECT_EQ(crl->rfind("-----BEGIN X509 CRL-----", 0), 0u);

  auto serials = revoked_serials(*crl, ca.cert_pem());
  ASSERT_TRUE(serials.ok()) << serials.error().message();
  EXPECT_EQ(*serials, std::vector<std::string>{revoked});

  auto other = new_ca();
  auto forged = revoked_serials(*crl, other.cert_pem());
  ASSERT_FALSE(forged.ok());
  EXPECT_NE(forged.error().message().find("not signed by this CA"), std::string::npos);
}

TEST(RevocationList, AnEmptyListIsAValidCrlAndBadSerialsAreRefused) {
  auto ca = new_ca();
  auto empty = ca.revocation_list({}, 1h);
  ASSERT_TRUE(empty.ok()) << empty.error().message();
  auto serials = revoked_serials(*empty, ca.cert_pem());
  ASSERT_TRUE(serials.ok());
  EXPECT_TRUE(serials->empty());

  for (const std::string bad : {"", "xyz", "12 34"}) {
    auto crl = ca.revocation_list({bad}, 1h);
    ASSERT_FALSE(crl.ok()) << bad;
    EXPECT_NE(crl.error().message().find("is not hexadecimal"), std::string::npos);
  }
  EXPECT_FALSE(revoked_serials("not a crl", ca.cert_pem()).ok());
}

}  // namespace
}  // namespace shoal::pki
