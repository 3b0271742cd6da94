// Packet pipeline: compound, CRC, compress (LZW), label; each malformed layer is rejected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "gossip/memberlist/framing.h"
#include "gossip/memberlist/lzw.h"
#include "gossip/memberlist/messages.h"
#include "tests/unit/gossip/test_bytes.h"

namespace shoal::gossip {
namespace {

using testing::hex;
using testing::to_hex;

const Ping kPing{1, "node-b", {192, 168, 1, 10}, 7946, "node-a"};

TEST(Framing, CrcMatchesProtocolsExample) {
  const Bytes wire = add_crc(encode(kPing));
  EXPECT_EQ(to_hex(ByteView(wire).first(5)), "0c d5 22 36 99");
  auto split = split_packet(wire);
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->messages.size(), 1u);
  EXPECT_EQ(split->messages[0], encode(kPing));
}

TEST(Framing, CrcMismatchIsRejected) {
  Bytes wire = add_crc(encode(kPing));
  wire.back() ^= 1;
  auto split = split_packet(wire);
  ASSERT_FALSE(split.ok());
  EXPECT_THAT(split.error().message(), ::testing::HasSubstr("CRC mismatch"));
  EXPECT_FALSE(split_packet(hex("0c 00 00")).ok());
}

TEST(Framing, CompoundLayout) {
  auto compound = make_compound({hex("0b 81 a5 53 65 71 4e 6f 01"), hex("08 aa bb")});
  ASSERT_TRUE(compound.ok());
  EXPECT_EQ(to_hex(*compound), "07 02 00 09 00 03 0b 81 a5 53 65 71 4e 6f 01 08 aa bb");
  auto split = split_packet(*compound);
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->messages.size(), 2u);
  EXPECT_EQ(to_hex(split->messages[1]), "08 aa bb");
}

TEST(Framing, TruncatedCompoundKeepsEarlierParts) {
  auto split = split_packet(hex("07 03 00 01 00 02 00 05 08 08 01"));
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->messages.size(), 2u);
  EXPECT_EQ(split->truncated, 1u);
  EXPECT_FALSE(split_packet(hex("07 03 00 01")).ok());  // lengths missing
  EXPECT_FALSE(split_packet(hex("07")).ok());
}

TEST(Framing, NestingAndCountAreBounded) {
  Bytes wire = hex("08 00");
  for (int i = 0; i < 6; ++i)
    wire = *make_compound({wire});
  auto split = split_packet(wire);
  ASSERT_FALSE(split.ok());
  EXPECT_THAT(split.error().message(), ::testing::HasSubstr("nested"));
  PacketLimits limits;
  limits.max_messages = 2;
  EXPECT_FALSE(split_packet(*make_compound({hex("08"), hex("08"), hex("08")}), limits).ok());
  EXPECT_FALSE(make_compound(std::vector<Bytes>(256, hex("08"))).ok());
}

TEST(Framing, CompressedPacketRoundTrip) {
  const Bytes inner = *make_compound({encode(kPing), encode(kPing), encode(kPing)});
  const Bytes wire = make_compressed(inner);
  EXPECT_EQ(wire[0], 0x09);
  EXPECT_LT(wire.size(), inner.size());
  auto split = split_packet(wire);
  ASSERT_TRUE(split.ok()) << split.error().message();
  ASSERT_EQ(split->messages.size(), 3u);
  EXPECT_EQ(split->messages[2], encode(kPing));
}

TEST(Framing, CompressWithUnknownAlgorithmIsRejected) {
  auto split = split_packet(encode(Compress{1, {0}}));
  ASSERT_FALSE(split.ok());
  EXPECT_THAT(split.error().message(), ::testing::HasSubstr("algorithm 1"));
}

TEST(Framing, LabelMustMatch) {
  const Bytes labelled = add_label(encode(kPing), "blue");
  EXPECT_EQ(to_hex(ByteView(labelled).first(6)), "f4 04 62 6c 75 65");
  WireSecurity blue;
  blue.label = "blue";
  auto opened = open_packet(labelled, blue);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, encode(kPing));
  EXPECT_FALSE(open_packet(labelled, WireSecurity{}).ok());
  EXPECT_FALSE(open_packet(encode(kPing), blue).ok());
  EXPECT_FALSE(open_packet(hex("f4 09 61"), blue).ok());
}

TEST(Lzw, KnownStreamFromGoWriter) {
  // Go: lzw.NewWriter(w, lzw.LSB, 8) writing "TOBEORNOTTOBEORTOBEORNOT" (classic example):
  // codes are clear, T O B E O R N O T 258 260 262 257-style references, eof; we check the round
  // trip and that the reference decoder semantics (KwKwK case) hold with "aaaaaaa".
  for (std::string text : {"TOBEORNOTTOBEORTOBEORNOT", "aaaaaaaaaaaaaaaaa", "", "x"}) {
    const Bytes packed = lzw_compress(as_bytes(text));
    auto unpacked = lzw_decompress(packed, 1 << 20);
    ASSERT_TRUE(unpacked.ok()) << text << ": " << unpacked.error().message();
    EXPECT_EQ(to_string(*unpacked), text);
  }
}

TEST(Lzw, HandComputedCodes) {
  // 9-bit codes packed LSB first. Go's writer turns "aaaa" into clear, 'a', 258 (the "aa" entry
  // it is still defining: the KwKwK case), 'a', eof.
  auto pack9 = [](std::vector<uint32_t> codes) {
    Bytes packed;
    uint64_t acc = 0;
    int n = 0;
    for (uint32_t c : codes) {
      acc |= static_cast<uint64_t>(c) << n;
      n += 9;
      while (n >= 8)
        packed.push_back(static_cast<uint8_t>(acc)), acc >>= 8, n -= 8;
    }
    if (n)
      packed.push_back(static_cast<uint8_t>(acc));
    return packed;
  };
  const Bytes go_stream = pack9({256, 97, 258, 97, 257});
  EXPECT_EQ(to_hex(lzw_compress(as_bytes(std::string("aaaa")))), to_hex(go_stream));
  EXPECT_EQ(to_string(*lzw_decompress(go_stream, 100)), "aaaa");
  // Other valid spellings: literal codes only, and no leading clear code.
  EXPECT_EQ(to_string(*lzw_decompress(pack9({256, 97, 97, 258, 257}), 100)), "aaaa");
  EXPECT_EQ(to_string(*lzw_decompress(pack9({97, 98, 258, 257}), 100)), "abab");
}

TEST(Lzw, LargeRandomRoundTripCrossesTableResets) {
  std::mt19937 rng(42);
  Bytes data(200000);
  for (auto& b : data)
    b = static_cast<uint8_t>(rng() % 7);  // compressible but varied
  const Bytes packed = lzw_compress(data);
  auto out = lzw_decompress(packed, data.size());
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, data);
}

TEST(Lzw, MalformedStreamsAreRejected) {
  EXPECT_FALSE(lzw_decompress(hex(""), 100).ok());             // no EOF
  EXPECT_FALSE(lzw_decompress(hex("00 fe ff ff"), 100).ok());  // undefined code
  const Bytes zeros = lzw_compress(Bytes(10000, 0));
  auto bomb = lzw_decompress(zeros, 1000);
  ASSERT_FALSE(bomb.ok());
  EXPECT_THAT(bomb.error().message(), ::testing::HasSubstr("exceeds 1000"));
}

}  // namespace
}  // namespace shoal::gossip
