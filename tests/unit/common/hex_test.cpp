#include "common/hex.h"

#include <gtest/gtest.h>

#include <vector>

namespace shoal {
namespace {

TEST(Hex, EveryByteRoundTrips) {
  std::string bytes;
  for (int b = 0; b < 256; ++b)
    bytes.push_back(static_cast<char>(b));
  auto text = to_hex(bytes);
  EXPECT_EQ(text.size(), 512u);
  EXPECT_EQ(text.substr(0, 6), "000102");
  EXPECT_EQ(text.substr(508), "feff");
  EXPECT_EQ(from_hex(text), bytes);
}

TEST(Hex, SpanAndStringGiveTheSameText) {
  std::vector<uint8_t> bytes{0xde, 0xad, 0x00, 0x7f};
  EXPECT_EQ(to_hex(bytes), "dead007f");
  EXPECT_EQ(to_hex(std::string_view("\xde\xad\x00\x7f", 4)), "dead007f");
}

TEST(Hex, UpperCaseIsRead) {
  EXPECT_EQ(from_hex("DEad"), std::string("\xde\xad"));
}

TEST(Hex, OddLengthOrOtherCharactersAreRefused) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("0x"));
  EXPECT_FALSE(from_hex(" 0"));
  EXPECT_EQ(from_hex(""), std::string());
}

}  // namespace
}  // namespace shoal
