#include "control/pki/ca.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <climits>

#include "common/hex.h"

namespace shoal::pki {

namespace {

// Nodes' clocks disagree a little; a certificate that starts "in an hour" on a peer would be
// rejected, so validity starts an hour in the past. A node certificate is backdated by at most a
// tenth of its validity, so that renewal at 50-80% of notBefore..notAfter still means 50-80% of
// the time it is used for, short test certificates included.
constexpr long kBackdateSeconds = 3600;
constexpr int kRootValidityDays = 20 * 365 + 5;  // 20 years with leap days

// Node ids and cluster ids go into CN/O and a DNS SAN: keep them short and DNS-safe.
Status check_id(std::string_view label, std::string_view value) {
  std::string object = std::string(label);
  if (value.empty()) {
    return invalid_argument(object, "is empty");
  }
  if (value.size() > 64) {
    return invalid_argument(object, "is longer than 64 characters");
  }
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '.' && c != '_') {
      return invalid_argument(object, "may hold only letters, digits, '-', '.' and '_'");
    }
  }
  return {};
}

Status set_random_serial(X509* cert) {
  ossl::Bignum bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) {
    return ossl::error("generate", "certificate serial");
  }
  ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return ossl::error("set", "certificate serial");
  }
  return {};
}

Status add_name_entry(X509_NAME* name, int nid, std::string_view value) {
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return ossl::error("set", "certificate subject", std::string(OBJ_nid2sn(nid)));
  }
  return {};
}

// Extensions whose values are fixed strings go through OpenSSL's config syntax; anything that
// holds caller data (SANs) is built field by field so it cannot inject extra entries.
Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl::error("add", "certificate extension", std::string(OBJ_nid2sn(nid)));
  }
  return {};
}

Status push_name(GENERAL_NAMES* names, ossl::GeneralName name) {
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) {
    return ossl::error("add", "subject alternative name");
  }
  name.release();  // the stack owns it now
  return {};
}

Status add_dns_san(GENERAL_NAMES* names, std::string_view dns) {
  ossl::Asn1Ia5String value(ASN1_IA5STRING_new());
  ossl::GeneralName name(GENERAL_NAME_new());
  if (!value || !name ||
      ASN1_STRING_set(value.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
    return ossl::error("add", "DNS subject alternative name", std::string(dns));
  }
  GENERAL_NAME_set0_value(name.get(), GEN_DNS, value.release());
  return push_name(names, std::move(name));
}

Status add_ip_san(GENERAL_NAMES* names, const std::string& ip) {
  ossl::Asn1OctetString value(a2i_IPADDRESS(ip.c_str()));
  if (!value) {
    ERR_clear_error();
    return invalid_argument("IP subject alternative name \"" + ip + "\"",
                            "is not an IPv4 or IPv6 address");
  }
  ossl::GeneralName name(GENERAL_NAME_new());
  if (!name) {
    return ossl::error("add", "IP subject alternative name", ip);
  }
  GENERAL_NAME_set0_value(name.get(), GEN_IPADD, value.release());
  return push_name(names, std::move(name));
}

Status add_sans(X509* cert, const NodeIdentity& who, const std::vector<std::string>& ip_sans) {
  ossl::GeneralNames names(sk_GENERAL_NAME_new_null());
  if (!names) {
    return ossl::error("allocate", "subject alternative names");
  }
  SHOAL_TRY(add_dns_san(names.get(), who.node_id));
  if (who.role == NodeRole::kManager) {
    SHOAL_TRY(add_dns_san(names.get(), kManagerTlsName));
  }
  for (const auto& ip : ip_sans) {
    SHOAL_TRY(add_ip_san(names.get(), ip));
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return ossl::error("add", "subject alternative names");
  }
  return {};
}

// Node keys: ECDSA on P-256 or P-384, or RSA of at least 2048 bits (what Docker's CA takes).
// Any other curve is refused, weaker ones (P-224: 112 bits) and exotic ones alike: every
// node and manager must be able to verify every other node's key.
Status check_csr_key(EVP_PKEY* key) {
  if (key == nullptr) {
    return invalid_argument("certificate signing request", "has no public key");
  }
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    char curve[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                       &length) != 1) {
      ERR_clear_error();
      return invalid_argument("certificate signing request", "EC key names no curve");
    }
    std::string_view name(curve, length);
    if (name != "prime256v1" && name != "P-256" && name != "secp384r1" && name != "P-384") {
      return invalid_argument(
          "certificate signing request",
          "EC key on curve " + std::string(name) + ": only P-256 and P-384 are accepted");
    }
    return {};
  }
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    if (int bits = EVP_PKEY_get_bits(key); bits < 2048) {
      return invalid_argument(
          "certificate signing request",
          "RSA key of " + std::to_string(bits) + " bits: at least 2048 are required");
    }
    return {};
  }
  return invalid_argument("certificate signing request",
                          "key is neither EC (P-256, P-384) nor RSA (2048 bits or more)");
}

}  // namespace

CertificateAuthority::CertificateAuthority(ossl::X509Ptr cert, ossl::Pkey key)
    : cert_(std::move(cert)), key_(std::move(key)) {}

Result<CertificateAuthority> CertificateAuthority::from(ossl::X509Ptr cert, ossl::Pkey key) {
  CertificateAuthority ca(std::move(cert), std::move(key));
  SHOAL_ASSIGN_OR_RETURN(ca.cert_pem_, ossl::write_cert(ca.cert_.get()));
  SHOAL_ASSIGN_OR_RETURN(ca.key_pem_, ossl::write_key(ca.key_.get()));
  SHOAL_ASSIGN_OR_RETURN(ca.digest_, ossl::cert_sha256(ca.cert_.get()));
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::create() {
  SHOAL_ASSIGN_OR_RETURN(ossl::Pkey key, ossl::generate_p256());
  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return ossl::error("create", "CA certificate");
  }
  SHOAL_TRY(set_random_serial(cert.get()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  SHOAL_TRY(add_name_entry(name, NID_commonName, "swarm-ca"));
  if (X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kRootValidityDays, 0, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return ossl::error("create", "CA certificate");
  }
  SHOAL_TRY(add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  SHOAL_TRY(add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  SHOAL_TRY(add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return ossl::error("sign", "CA certificate");
  }
  return from(std::move(cert), std::move(key));
}

Result<CertificateAuthority> CertificateAuthority::load(std::string_view cert_pem,
                                                        std::string_view key_pem) {
  SHOAL_ASSIGN_OR_RETURN(ossl::X509Ptr cert, ossl::read_cert(cert_pem, "CA certificate"));
  SHOAL_ASSIGN_OR_RETURN(ossl::Pkey key, ossl::read_key(key_pem, "CA key"));
  if (X509_check_ca(cert.get()) == 0) {
    return invalid_argument("CA certificate", "is not a CA certificate (no CA:TRUE)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return invalid_argument("CA key", "does not match the CA certificate's public key");
  }
  return from(std::move(cert), std::move(key));
}

std::string CertificateAuthority::fingerprint() const {
  return to_hex(digest_);
}

Result<std::string> CertificateAuthority::cross_sign(const CertificateAuthority& next) const {
  X509* root = next.cert_.get();
  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return ossl::error("create", "cross-signed CA certificate");
  }
  SHOAL_TRY(set_random_serial(cert.get()));
  if (X509_set_subject_name(cert.get(), X509_get_subject_name(root)) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_set1_notAfter(cert.get(), X509_get0_notAfter(root)) != 1 ||
      X509_set_pubkey(cert.get(), X509_get0_pubkey(root)) != 1) {
    return ossl::error("create", "cross-signed CA certificate");
  }
  if (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(cert_.get())) > 0 &&
      X509_set1_notAfter(cert.get(), X509_get0_notAfter(cert_.get())) != 1) {
    return ossl::error("create", "cross-signed CA certificate");
  }
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE"));
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_subject_key_identifier, "hash"));
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), key_.get(), EVP_sha256()) <= 0) {
    return ossl::error("sign", "cross-signed CA certificate");
  }
  return ossl::write_cert(cert.get());
}

Result<std::string> CertificateAuthority::sign(std::string_view csr_pem, const NodeIdentity& who,
                                               const std::vector<std::string>& ip_sans,
                                               std::chrono::seconds validity) const {
  SHOAL_TRY(check_id("node id", who.node_id));
  SHOAL_TRY(check_id("cluster id", who.cluster_id));
  if (validity.count() <= 0) {
    return invalid_argument("certificate validity", "must be positive");
  }
  SHOAL_ASSIGN_OR_RETURN(ossl::X509Req csr, ossl::read_csr(csr_pem));
  EVP_PKEY* node_key = X509_REQ_get0_pubkey(csr.get());
  SHOAL_TRY(check_csr_key(node_key));
  // Proof that the requester holds the private key for the public key it asks us to certify.
  if (X509_REQ_verify(csr.get(), node_key) != 1) {
    ERR_clear_error();
    return invalid_argument("certificate signing request", "its signature does not verify");
  }

  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return ossl::error("create", "node certificate");
  }
  SHOAL_TRY(set_random_serial(cert.get()));
  // The CSR's subject is deliberately not copied: identity and role come from the manager.
  X509_NAME* name = X509_get_subject_name(cert.get());
  SHOAL_TRY(add_name_entry(name, NID_organizationName, who.cluster_id));
  SHOAL_TRY(add_name_entry(name, NID_organizationalUnitName, to_ou(who.role)));
  SHOAL_TRY(add_name_entry(name, NID_commonName, who.node_id));

  // Validity in days plus seconds, capped at 100 years so the arithmetic cannot overflow; the
  // root's own expiry then caps it again.
  constexpr long long kDay = 24 * 3600;
  auto total = std::min<long long>(validity.count(), kDay * 365 * 100);
  auto days = static_cast<int>(total / kDay);
  auto seconds = static_cast<long>(total % kDay);
  auto backdate = static_cast<long>(std::min<long long>(kBackdateSeconds, total / 10));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -backdate) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, seconds, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), node_key) != 1) {
    return ossl::error("create", "node certificate");
  }
  if (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(cert_.get())) > 0 &&
      X509_set1_notAfter(cert.get(), X509_get0_notAfter(cert_.get())) != 1) {
    return ossl::error("create", "node certificate");
  }

  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE"));
  SHOAL_TRY(
      add_ext(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_subject_key_identifier, "hash"));
  SHOAL_TRY(add_ext(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always"));
  SHOAL_TRY(add_sans(cert.get(), who, ip_sans));
  if (X509_sign(cert.get(), key_.get(), EVP_sha256()) <= 0) {
    return ossl::error("sign", "node certificate for " + who.node_id);
  }
  return ossl::write_cert(cert.get());
}

}  // namespace shoal::pki
