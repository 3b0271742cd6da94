// CertificateAuthority::revocation_list and the reader of what a CRL revokes (crl.h).
#include "control/pki/crl.h"

#include <openssl/err.h>

#include <ctime>
#include <memory>

#include "control/pki/ca.h"
#include "control/pki/ossl.h"

namespace shoal::pki {

namespace {

using Crl = std::unique_ptr<X509_CRL, ossl::Deleter<X509_CRL_free>>;
using Revoked = std::unique_ptr<X509_REVOKED, ossl::Deleter<X509_REVOKED_free>>;

Result<ossl::Asn1Integer> serial_from_hex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  if (hex.empty() || BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size()))
    return invalid_argument("certificate serial \"" + hex + "\"", "is not hexadecimal");
  ossl::Bignum number(raw);
  ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (!serial)
    return ossl::error("convert", "certificate serial " + hex);
  return serial;
}

Status add_revoked(X509_CRL* crl, const std::string& serial_hex, const ASN1_TIME* when) {
  SHOAL_ASSIGN_OR_RETURN(auto serial, serial_from_hex(serial_hex));
  Revoked revoked(X509_REVOKED_new());
  if (!revoked || X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), const_cast<ASN1_TIME*>(when)) != 1) {
    return ossl::error("add", "revoked serial " + serial_hex);
  }
  if (X509_CRL_add0_revoked(crl, revoked.get()) != 1)
    return ossl::error("add", "revoked serial " + serial_hex);
  revoked.release();  // the CRL owns it now
  return {};
}

Result<std::string> write_crl(X509_CRL* crl) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1)
    return ossl::error("write", "revocation list");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

Result<std::string> CertificateAuthority::revocation_list(const std::vector<std::string>& serials,
                                                          std::chrono::seconds valid_for) const {
  Crl crl(X509_CRL_new());
  ossl::Asn1Time now(ASN1_TIME_set(nullptr, std::time(nullptr)));
  ossl::Asn1Time until(X509_time_adj_ex(nullptr, 0, static_cast<long>(valid_for.count()), nullptr));
  if (!crl || !now || !until || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert_.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), now.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), until.get()) != 1) {
    return ossl::error("make", "revocation list");
  }
  for (const auto& serial : serials)
    SHOAL_TRY(add_revoked(crl.get(), serial, now.get()));
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), key_.get(), EVP_sha256()) <= 0)
    return ossl::error("sign", "revocation list");
  return write_crl(crl.get());
}

Result<std::vector<std::string>> revoked_serials(std::string_view crl_pem,
                                                 std::string_view issuer_pem) {
  ossl::Bio bio(BIO_new_mem_buf(crl_pem.data(), static_cast<int>(crl_pem.size())));
  Crl crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl)
    return ossl::error("read", "revocation list");
  SHOAL_ASSIGN_OR_RETURN(auto issuer, ossl::read_cert(issuer_pem, "CA certificate"));
  ossl::Pkey key(X509_get_pubkey(issuer.get()));
  if (!key || X509_CRL_verify(crl.get(), key.get()) != 1) {
    ERR_clear_error();  // the library's reason adds nothing to this one
    return Error{"verify", "revocation list", 0, "not signed by this CA"};
  }
  std::vector<std::string> serials;
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    SHOAL_ASSIGN_OR_RETURN(
        auto serial,
        ossl::serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
    serials.push_back(std::move(serial));
  }
  return serials;
}

}  // namespace shoal::pki
