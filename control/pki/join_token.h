// Join tokens in Docker's format: SWMTKN-1-<digest>-<secret>.
//
// digest: SHA-256 of the root CA certificate (DER) in base36, zero-padded to 50 characters; a
//         joining node compares it with the CA a manager presents before trusting that manager.
// secret: 128 random bits in base36, zero-padded to 25 characters; the manager compares it with
//         its worker or manager token to decide whether (and as what) a node may join.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "control/pki/ca.h"

namespace shoal::pki {

inline constexpr size_t kJoinTokenMaxLength = 200;
inline constexpr size_t kJoinTokenDigestLength = 50;
inline constexpr size_t kJoinTokenSecretLength = 25;

struct JoinToken {
  std::string version;    // "1"
  std::string ca_digest;  // 50 base36 characters
  std::string secret;     // 25 base36 characters

  bool operator==(const JoinToken&) const = default;
};

// A new token for `ca` with a fresh secret. Aborts if the system cannot supply random bytes:
// there is no safe token to return then.
std::string make_join_token(const CertificateAuthority& ca);

// Checks the shape only (prefix, version, lengths, alphabet). Errors name the part that is wrong
// and never echo the secret.
Result<JoinToken> parse_join_token(std::string_view token);

// Whether the token's digest is that of `ca_cert_pem` (false for an unreadable certificate).
bool ca_matches(const JoinToken& token, std::string_view ca_cert_pem);

// Constant-time comparison of two secrets (time depends on the lengths only). Empty secrets
// never match, so an unset expected secret cannot be satisfied.
bool secret_matches(std::string_view a, std::string_view b);

}  // namespace shoal::pki
