#include "control/pki/join_token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <span>
#include <vector>

namespace shoal::pki {

namespace {

constexpr std::string_view kPrefix = "SWMTKN";
constexpr std::string_view kVersion = "1";
constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";

// Big-endian bytes -> base36, by repeated long division of the byte array by 36.
std::string base36(std::span<const uint8_t> bytes, size_t width) {
  std::vector<uint8_t> number(bytes.begin(), bytes.end());
  std::string out;
  bool nonzero = true;
  while (nonzero) {
    unsigned remainder = 0;
    nonzero = false;
    for (auto& byte : number) {
      unsigned current = (remainder << 8) | byte;
      byte = static_cast<uint8_t>(current / 36);
      remainder = current % 36;
      nonzero = nonzero || byte != 0;
    }
    out.insert(out.begin(), kDigits[remainder]);
  }
  if (out.size() < width) {
    out.insert(0, width - out.size(), '0');
  }
  return out;
}

bool is_base36(std::string_view text) {
  return text.find_first_not_of(kDigits) == std::string_view::npos;
}

Status check_part(std::string_view part, std::string_view label, size_t length) {
  std::string object = "join token " + std::string(label);
  if (part.size() != length) {
    return invalid_argument(object, "must be " + std::to_string(length) +
                                        " base36 characters (0-9, a-z), not " +
                                        std::to_string(part.size()));
  }
  if (!is_base36(part)) {
    return invalid_argument(object, "may hold only the base36 characters 0-9 and a-z");
  }
  return {};
}

}  // namespace

std::string make_join_token(const CertificateAuthority& ca) {
  std::array<uint8_t, 16> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    std::abort();  // a token with a predictable secret would let anyone join
  }
  std::string token = std::string(kPrefix) + "-" + std::string(kVersion) + "-" +
                      base36(ca.digest(), kJoinTokenDigestLength) + "-" +
                      base36(secret, kJoinTokenSecretLength);
  OPENSSL_cleanse(secret.data(), secret.size());
  return token;
}

Result<JoinToken> parse_join_token(std::string_view token) {
  if (token.size() > kJoinTokenMaxLength) {
    return invalid_argument(
        "join token", "is longer than " + std::to_string(kJoinTokenMaxLength) + " characters");
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dash = token.find('-', start);
    parts.push_back(token.substr(start, dash == std::string_view::npos ? dash : dash - start));
    if (dash == std::string_view::npos) {
      break;
    }
    start = dash + 1;
  }
  if (parts[0] != kPrefix) {
    return invalid_argument("join token prefix", "must be SWMTKN");
  }
  if (parts.size() < 4) {
    return invalid_argument("join token", "has " + std::to_string(parts.size()) +
                                              " parts; expected SWMTKN-1-<digest>-<secret>");
  }
  if (parts.size() > 4) {
    return invalid_argument("join token", "has extra parts after the secret");
  }
  if (parts[1] != kVersion) {
    return invalid_argument("join token version", "must be 1");
  }
  SHOAL_TRY(check_part(parts[2], "CA digest", kJoinTokenDigestLength));
  SHOAL_TRY(check_part(parts[3], "secret", kJoinTokenSecretLength));
  return JoinToken{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

bool ca_matches(const JoinToken& token, std::string_view ca_cert_pem) {
  auto cert = ossl::read_cert(ca_cert_pem, "CA certificate");
  if (!cert.ok()) {
    return false;
  }
  auto digest = ossl::cert_sha256(cert->get());
  return digest.ok() && base36(*digest, kJoinTokenDigestLength) == token.ca_digest;
}

bool secret_matches(std::string_view a, std::string_view b) {
  if (a.empty() || a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace shoal::pki
