// The swarm's root certificate authority: a self-signed ECDSA P-256 root that signs node
// certificates. The subject of a node certificate is decided here, never by the node: CN is the
// node id, OU the role and O the cluster id, so a certificate is the node's identity and role.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/pki/identity.h"
#include "control/pki/ossl.h"

namespace shoal::pki {

// How long node certificates are valid: Docker's default (`--cert-expiry 2160h`), and its floor.
// Nodes renew theirs at a random point between 50% and 80% of that (daemon/cert_renewal.h).
inline constexpr std::chrono::hours kDefaultNodeCertValidity{24 * 90};
inline constexpr std::chrono::hours kMinNodeCertValidity{1};
// The floor when shoald runs with SHOAL_ALLOW_SHORT_CERT_EXPIRY=1: tests that watch certificates
// expire and renew in minutes. Never for a real swarm.
inline constexpr std::chrono::minutes kTestMinNodeCertValidity{1};

class CertificateAuthority {
 public:
  // A new root: CN "swarm-ca", valid 20 years, CA:TRUE, keyCertSign.
  static Result<CertificateAuthority> create();
  // An existing root; fails if the key is not the certificate's or the certificate is no CA.
  static Result<CertificateAuthority> load(std::string_view cert_pem, std::string_view key_pem);

  const std::string& cert_pem() const { return cert_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  // SHA-256 of the DER certificate, lowercase hex (what `openssl x509 -fingerprint` shows).
  std::string fingerprint() const;
  // The same digest as raw bytes; join tokens carry it in base36.
  const std::vector<uint8_t>& digest() const { return digest_; }

  // Issues a node certificate for the CSR's key. The CSR must carry a valid self-signature;
  // the subject it asks for is ignored and replaced with `who`. SANs: DNS node id, DNS
  // swarm-manager for managers, and `ip_sans` (IPv4 or IPv6 text). Never valid beyond the root.
  // Valid from a little before now (a tenth of `validity`, at most an hour, for clocks that
  // disagree) for `validity`.
  Result<std::string> sign(std::string_view csr_pem, const NodeIdentity& who,
                           const std::vector<std::string>& ip_sans,
                           std::chrono::seconds validity = kDefaultNodeCertValidity) const;

  // `next`'s root, signed by this one: the intermediate that lets a node still trusting only
  // this root verify certificates `next` signs, while a root rotation moves the swarm. Same
  // subject, key and key identifier as `next`'s certificate; valid no longer than either root.
  Result<std::string> cross_sign(const CertificateAuthority& next) const;

  // A certificate revocation list (PEM, X.509 v2 CRL) this root signs, naming the certificates
  // with these serials (lowercase hex, as serial_of() gives them) revoked; valid for
  // `valid_for`. etcd reads it at every new connection (--client-crl-file, --peer-crl-file).
  Result<std::string> revocation_list(const std::vector<std::string>& serials,
                                      std::chrono::seconds valid_for) const;

 private:
  CertificateAuthority(ossl::X509Ptr cert, ossl::Pkey key);
  static Result<CertificateAuthority> from(ossl::X509Ptr cert, ossl::Pkey key);

  ossl::X509Ptr cert_;
  ossl::Pkey key_;
  std::string cert_pem_;
  std::string key_pem_;
  std::vector<uint8_t> digest_;
};

}  // namespace shoal::pki
