// SWMTKN-1-<digest>-<secret>: generation, parsing, matching.
#include <gtest/gtest.h>

#include "control/pki/join_token.h"

namespace shoal::pki {
namespace {

const std::string kDigest(50, 'a');
const std::string kSecret = "0123456789abcdefghijklmno";

std::string token_of(std::string digest, std::string secret) {
  return "SWMTKN-1-" + digest + "-" + secret;
}

// Decodes base36 back into 32 big-endian bytes, independently of the encoder under test.
std::string base36_to_hex(const std::string& text) {
  std::vector<unsigned> number(32, 0);
  for (char c : text) {
    unsigned carry = static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10);
    for (size_t i = number.size(); i-- > 0;) {
      unsigned v = number[i] * 36 + carry;
      number[i] = v & 0xff;
      carry = v >> 8;
    }
    EXPECT_EQ(carry, 0u) << "digest larger than 256 bits";
  }
  std::string hex;
  for (unsigned byte : number) {
    hex += "0123456789abcdef"[byte >> 4];
    hex += "0123456789abcdef"[byte & 15];
  }
  return hex;
}

std::string parse_error(std::string_view token) {
  auto parsed = parse_join_token(token);
  EXPECT_FALSE(parsed.ok()) << token;
  return parsed.ok() ? std::string() : parsed.error().message();
}

TEST(PkiJoinToken, RoundTripAndCaMatch) {
  auto ca = CertificateAuthority::create();
  auto other = CertificateAuthority::create();
  ASSERT_TRUE(ca.ok() && other.ok());
  std::string token = make_join_token(*ca);
  EXPECT_EQ(token.size(), 85u);
  auto parsed = parse_join_token(token);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->version, "1");
  EXPECT_EQ(parsed->ca_digest.size(), 50u);
  EXPECT_EQ(parsed->secret.size(), 25u);
  EXPECT_EQ(base36_to_hex(parsed->ca_digest), ca->fingerprint());
  EXPECT_TRUE(ca_matches(*parsed, ca->cert_pem()));
  EXPECT_FALSE(ca_matches(*parsed, other->cert_pem()));
  EXPECT_FALSE(ca_matches(*parsed, "not a certificate"));
}

TEST(PkiJoinToken, SecretsDiffer) {
  auto ca = CertificateAuthority::create();
  ASSERT_TRUE(ca.ok());
  auto a = parse_join_token(make_join_token(*ca));
  auto b = parse_join_token(make_join_token(*ca));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->ca_digest, b->ca_digest);
  EXPECT_NE(a->secret, b->secret);
}

TEST(PkiJoinToken, ParseErrorsNameThePart) {
  EXPECT_TRUE(parse_join_token(token_of(kDigest, kSecret)).ok());
  EXPECT_NE(parse_error("SWMTKX-1-" + kDigest + "-" + kSecret).find("prefix"), std::string::npos);
  EXPECT_NE(parse_error("").find("prefix"), std::string::npos);
  EXPECT_NE(parse_error("SWMTKN-2-" + kDigest + "-" + kSecret).find("version"), std::string::npos);
  EXPECT_NE(parse_error("SWMTKN-1-" + kDigest).find("parts"), std::string::npos);
  EXPECT_NE(parse_error(token_of(kDigest, kSecret) + "-x").find("extra"), std::string::npos);
  EXPECT_NE(parse_error(token_of(kDigest.substr(1), kSecret)).find("CA digest"), std::string::npos);
  EXPECT_NE(parse_error(token_of(kDigest.substr(1) + "A", kSecret)).find("CA digest"),
            std::string::npos);
  EXPECT_NE(parse_error(token_of(kDigest, kSecret.substr(1))).find("secret"), std::string::npos);
  EXPECT_NE(parse_error(token_of(kDigest, kSecret.substr(1) + "!")).find("secret"),
            std::string::npos);
  EXPECT_NE(parse_error(std::string(201, 'a')).find("200"), std::string::npos);
}

TEST(PkiJoinToken, ErrorsDoNotEchoTheSecret) {
  std::string secret = "zyxwvutsrqponmlkjihgfedcb!";  // 26 characters: wrong length
  std::string message = parse_error(token_of(kDigest, secret));
  EXPECT_EQ(message.find("zyxwvutsrq"), std::string::npos) << message;
}

TEST(PkiJoinToken, SecretMatchesComparesExactly) {
  EXPECT_TRUE(secret_matches(kSecret, kSecret));
  EXPECT_FALSE(secret_matches(kSecret, kSecret.substr(1)));
  std::string flipped = kSecret;
  flipped.back() = 'z';
  EXPECT_FALSE(secret_matches(kSecret, flipped));
  EXPECT_FALSE(secret_matches("", ""));
}

}  // namespace
}  // namespace shoal::pki
