// Golden bytes and malformed-input tests for the memberlist message codec. Goldens marked
// "PROTOCOLS.md" are the hand-computed examples in the design notes (§A3, §A6, §B2, §B3).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gossip/memberlist/messages.h"
#include "gossip/memberlist/stream.h"
#include "gossip/serf/serf_compat.h"
#include "tests/unit/gossip/test_bytes.h"

namespace shoal::gossip {
namespace {

using testing::cat;
using testing::fixraw;
using testing::hex;
using testing::to_hex;

const Bytes kAddrA = {192, 168, 1, 10};
const Bytes kVsn = {1, 5, 2, 0, 0, 0};

template <typename M>
M decode_as(const Bytes& wire) {
  auto decoded = decode_packet_message(wire);
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().message());
  if (!decoded.ok())
    return M{};
  EXPECT_TRUE(std::holds_alternative<M>(*decoded));
  return std::get<M>(*decoded);
}

TEST(MessageCodec, PingMatchesProtocolsExample) {
  const Bytes golden =
      hex("00 85 a5 53 65 71 4e 6f 01 a4 4e 6f 64 65 a6 6e 6f 64 65 2d 62"
          "aa 53 6f 75 72 63 65 41 64 64 72 a4 c0 a8 01 0a"
          "aa 53 6f 75 72 63 65 50 6f 72 74 cd 1f 0a"
          "aa 53 6f 75 72 63 65 4e 6f 64 65 a6 6e 6f 64 65 2d 61");
  ASSERT_EQ(golden.size(), 69u);
  const Ping ping{1, "node-b", kAddrA, 7946, "node-a"};
  EXPECT_EQ(to_hex(encode(ping)), to_hex(golden));
  EXPECT_EQ(decode_as<Ping>(golden), ping);
}

TEST(MessageCodec, PingOmitsEmptySourceFields) {
  const Ping ping{300, "", {}, 0, ""};
  EXPECT_EQ(
      to_hex(encode(ping)),
      to_hex(cat({hex("00 82"), fixraw("SeqNo"), hex("cd 01 2c"), fixraw("Node"), hex("a0")})));
}

TEST(MessageCodec, AckWithNilPayloadMatchesProtocolsExample) {
  const Bytes golden =
      cat({hex("02 82"), fixraw("SeqNo"), hex("01"), fixraw("Payload"), hex("c0")});
  EXPECT_EQ(to_hex(encode(Ack{1, {}})), to_hex(golden));
  EXPECT_EQ(decode_as<Ack>(golden), (Ack{1, {}}));
}

TEST(MessageCodec, AckWithPayload) {
  const Ack ack{0xffffffff, {1, 2}};
  const Bytes golden = cat(
      {hex("02 82"), fixraw("SeqNo"), hex("ce ff ff ff ff"), fixraw("Payload"), hex("a2 01 02")});
  EXPECT_EQ(to_hex(encode(ack)), to_hex(golden));
  EXPECT_EQ(decode_as<Ack>(golden), ack);
}

TEST(MessageCodec, AliveMatchesProtocolsExample) {
  const Bytes golden =
      cat({hex("04 86"), fixraw("Incarnation"), hex("01"), fixraw("Node"), fixraw("node-a"),
           fixraw("Addr"), hex("a4 c0 a8 01 0a"), fixraw("Port"), hex("cd 1f 0a"), fixraw("Meta"),
           hex("a0"), fixraw("Vsn"), hex("a6 01 05 02 00 00 00")});
  ASSERT_EQ(golden.size(), 62u);
  const Alive alive{1, "node-a", kAddrA, 7946, {}, kVsn};
  EXPECT_EQ(to_hex(encode(alive)), to_hex(golden));
  EXPECT_EQ(decode_as<Alive>(golden), alive);
}

TEST(MessageCodec, IndirectPing) {
  const IndirectPing m{7, {10, 0, 0, 2}, 7946, "node-c", true, kAddrA, 7946, "node-a"};
  const Bytes golden =
      cat({hex("01 88"), fixraw("SeqNo"), hex("07"), fixraw("Target"), hex("a4 0a 00 00 02"),
           fixraw("Port"), hex("cd 1f 0a"), fixraw("Node"), fixraw("node-c"), fixraw("Nack"),
           hex("c3"), fixraw("SourceAddr"), hex("a4 c0 a8 01 0a"), fixraw("SourcePort"),
           hex("cd 1f 0a"), fixraw("SourceNode"), fixraw("node-a")});
  EXPECT_EQ(to_hex(encode(m)), to_hex(golden));
  EXPECT_EQ(decode_as<IndirectPing>(golden), m);
}

TEST(MessageCodec, NackSuspectDead) {
  EXPECT_EQ(to_hex(encode(Nack{200})), to_hex(cat({hex("0b 81"), fixraw("SeqNo"), hex("cc c8")})));
  const Suspect s{3, "node-b", "node-a"};
  const Bytes suspect_golden = cat({hex("03 83"), fixraw("Incarnation"), hex("03"), fixraw("Node"),
                                    fixraw("node-b"), fixraw("From"), fixraw("node-a")});
  EXPECT_EQ(to_hex(encode(s)), to_hex(suspect_golden));
  EXPECT_EQ(decode_as<Suspect>(suspect_golden), s);
  const Dead d{4, "node-b", "node-b"};
  const Bytes dead_golden = cat({hex("05 83"), fixraw("Incarnation"), hex("04"), fixraw("Node"),
                                 fixraw("node-b"), fixraw("From"), fixraw("node-b")});
  EXPECT_EQ(to_hex(encode(d)), to_hex(dead_golden));
  EXPECT_EQ(decode_as<Dead>(dead_golden), d);
  EXPECT_EQ(decode_as<Nack>(encode(Nack{200})).seq_no, 200u);
}

TEST(MessageCodec, UserPacketIsRawBytesAfterTypeByte) {
  const UserPacket u{{1, 2, 3}};
  EXPECT_EQ(to_hex(encode(u)), "08 01 02 03");
  EXPECT_EQ(decode_as<UserPacket>(hex("08 01 02 03")), u);
}

TEST(MessageCodec, CompressAndErr) {
  EXPECT_EQ(to_hex(encode(Compress{0, {9, 9}})),
            to_hex(cat({hex("09 82"), fixraw("Algo"), hex("00"), fixraw("Buf"), hex("a2 09 09")})));
  EXPECT_EQ(to_hex(encode(ErrResponse{"boom"})),
            to_hex(cat({hex("0d 81"), fixraw("Error"), fixraw("boom")})));
}

TEST(MessageCodec, LongStringsUseRaw16NeverStr8) {
  const std::string name(40, 'n');
  const Bytes wire = encode(Dead{1, name, name});
  const Bytes expected_node = cat({hex("da 00 28"), Bytes(name.begin(), name.end())});
  EXPECT_NE(std::search(wire.begin(), wire.end(), expected_node.begin(), expected_node.end()),
            wire.end());
  EXPECT_EQ(std::find(wire.begin(), wire.end(), 0xd9), wire.end());
  EXPECT_EQ(decode_as<Dead>(wire).node, name);
}

TEST(MessageCodec, DecoderAcceptsNewerEncodings) {
  // str8 and bin8 values, a signed int16 SeqNo (go-msgpack v2), an unknown key, a missing key.
  const Bytes wire = cat({hex("00 84"), fixraw("SeqNo"), hex("d1 01 2c"), fixraw("Node"),
                          hex("d9 06"), Bytes{'n', 'o', 'd', 'e', '-', 'b'}, fixraw("SourceAddr"),
                          hex("c4 04 c0 a8 01 0a"), fixraw("Future"), hex("93 01 02 03")});
  const Ping ping = decode_as<Ping>(wire);
  EXPECT_EQ(ping.seq_no, 300u);
  EXPECT_EQ(ping.node, "node-b");
  EXPECT_EQ(ping.source_addr, kAddrA);
  EXPECT_EQ(ping.source_port, 0);
}

struct MalformedCase {
  const char* name;
  Bytes wire;
  const char* expected_detail;
};

class MalformedPacketMessage : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedPacketMessage, IsRejectedWithAClearError) {
  auto decoded = decode_packet_message(GetParam().wire);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.error().message(), ::testing::HasSubstr(GetParam().expected_detail));
}

INSTANTIATE_TEST_SUITE_P(
    Codec, MalformedPacketMessage,
    ::testing::Values(
        MalformedCase{"empty", {}, "empty message"},
        MalformedCase{"unknown_type", hex("63 80"), "unexpected message type 99"},
        MalformedCase{"push_pull_on_packet_path", hex("06 80"), "on the packet path"},
        MalformedCase{"truncated_body", hex("00 85 a5 53 65"), "truncated"},
        MalformedCase{"body_not_a_map", hex("00 93 01 02 03"), "expected a msgpack map"},
        MalformedCase{"seqno_wrong_type", cat({hex("00 81"), fixraw("SeqNo"), hex("a1 78")}),
                      "expected an integer"},
        MalformedCase{"seqno_out_of_range",
                      cat({hex("00 81"), fixraw("SeqNo"), hex("cf 00 00 00 01 00 00 00 00")}),
                      "out of range"},
        MalformedCase{"port_negative", cat({hex("04 81"), fixraw("Port"), hex("ff")}),
                      "negative value"},
        MalformedCase{"non_string_key", hex("00 81 01 01"), "map key is not a string"},
        MalformedCase{"map_too_large", hex("00 de ff ff"), "limit exceeded"},
        MalformedCase{"string_too_long",
                      cat({hex("04 81"), fixraw("Node"), hex("db 00 01 00 01"), Bytes(65537, 'x')}),
                      "limit exceeded"},
        MalformedCase{"string_truncated",
                      cat({hex("04 81"), fixraw("Node"), hex("db 00 10 00 01")}), "truncated"},
        MalformedCase{"nesting_too_deep", hex("00 81 a1 78 91 91 91 91 91 91 91 91 91 91 00"),
                      "nesting too deep"}),
    [](const ::testing::TestParamInfo<MalformedCase>& c) { return std::string(c.param.name); });

TEST(StreamCodec, PushPullMatchesProtocolsExample) {
  PushPull pp;
  pp.header.join = true;
  pp.nodes.push_back(PushNodeState{"node-a", kAddrA, 7946, {}, 1, 0, kVsn});
  const Bytes golden = cat({hex("06 83"),
                            fixraw("Nodes"),
                            hex("01"),
                            fixraw("UserStateLen"),
                            hex("00"),
                            fixraw("Join"),
                            hex("c3"),
                            hex("87"),
                            fixraw("Name"),
                            fixraw("node-a"),
                            fixraw("Addr"),
                            hex("a4 c0 a8 01 0a"),
                            fixraw("Port"),
                            hex("cd 1f 0a"),
                            fixraw("Meta"),
                            hex("a0"),
                            fixraw("Incarnation"),
                            hex("01"),
                            fixraw("State"),
                            hex("00"),
                            fixraw("Vsn"),
                            hex("a6 01 05 02 00 00 00")});
  EXPECT_EQ(to_hex(encode_stream(pp)), to_hex(golden));
  auto decoded = decode_stream_frame(golden, WireSecurity{});
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  PushPull expected = pp;
  expected.header.nodes = 1;
  EXPECT_EQ(std::get<PushPull>(*decoded), expected);
}

TEST(StreamCodec, PushPullWithUserStateAndStates) {
  PushPull pp;
  pp.nodes.push_back(PushNodeState{"a", kAddrA, 1, {0xff, 0x80}, 9, 3, kVsn});
  pp.nodes.push_back(PushNodeState{"b", kAddrA, 2, {}, 1, 1, kVsn});
  pp.user_state = Bytes(300, 0x42);
  const Bytes wire = encode_stream(pp);
  // UserStateLen 300 is a Go int: v0.5.3 writes it in the unsigned u16 form.
  EXPECT_NE(to_hex(wire).find(to_hex(cat({fixraw("UserStateLen"), hex("cd 01 2c")}))),
            std::string::npos);
  auto size = stream_frame_size(wire, WireSecurity{});
  ASSERT_TRUE(size.ok());
  ASSERT_TRUE(size->has_value());
  EXPECT_EQ(**size, wire.size());
  // Every proper prefix is incomplete, never an error.
  for (size_t n = 0; n < wire.size(); n += 7) {
    auto partial = stream_frame_size(ByteView(wire).first(n), WireSecurity{});
    ASSERT_TRUE(partial.ok()) << n << ": " << partial.error().message();
    EXPECT_FALSE(partial->has_value()) << n;
  }
  auto decoded = decode_stream_frame(wire, WireSecurity{});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<PushPull>(*decoded).nodes, pp.nodes);
  EXPECT_EQ(std::get<PushPull>(*decoded).user_state, pp.user_state);
}

TEST(StreamCodec, UserMessageHeaderMatchesProtocolsExample) {
  const Bytes wire = encode_stream(UserStream{{'h', 'e', 'l', 'l', 'o'}});
  EXPECT_EQ(
      to_hex(wire),
      to_hex(cat({hex("08 81"), fixraw("UserMsgLen"), hex("05"), Bytes{'h', 'e', 'l', 'l', 'o'}})));
  auto decoded = decode_stream_frame(wire, WireSecurity{});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<UserStream>(*decoded).payload.size(), 5u);
}

TEST(StreamCodec, RejectsOversizedAnnouncements) {
  StreamLimits limits;
  limits.max_nodes = 10;
  limits.max_user_bytes = 100;
  const Bytes many_nodes = cat({hex("06 83"), fixraw("Nodes"), hex("cc 0b"), fixraw("UserStateLen"),
                                hex("00"), fixraw("Join"), hex("c2")});
  auto r1 = stream_frame_size(many_nodes, WireSecurity{}, limits);
  ASSERT_FALSE(r1.ok());
  EXPECT_THAT(r1.error().message(), ::testing::HasSubstr("11 nodes"));
  const Bytes big_user = cat({hex("08 81"), fixraw("UserMsgLen"), hex("cd 10 00")});
  auto r2 = stream_frame_size(big_user, WireSecurity{}, limits);
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.error().message(), ::testing::HasSubstr("too large"));
  const Bytes negative = cat({hex("08 81"), fixraw("UserMsgLen"), hex("ff")});
  EXPECT_FALSE(stream_frame_size(negative, WireSecurity{}, limits).ok());
  EXPECT_FALSE(stream_frame_size(hex("0a 7f ff ff ff"), WireSecurity{}, limits).ok());
  EXPECT_FALSE(stream_frame_size(hex("04 80"), WireSecurity{}, limits).ok());
}

TEST(SerfCompat, TagsMatchProtocolsExample) {
  auto meta = serf::encode_tags({{"role", "web"}});
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(to_hex(*meta), "ff 81 a4 72 6f 6c 65 a3 77 65 62");
  auto tags = serf::decode_tags(*meta);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (serf::Tags{{"role", "web"}}));
}

TEST(SerfCompat, LegacyMetaIsARole) {
  EXPECT_EQ(*serf::decode_tags(Bytes{}), (serf::Tags{{"role", ""}}));
  EXPECT_EQ(*serf::decode_tags(Bytes{'d', 'b'}), (serf::Tags{{"role", "db"}}));
}

TEST(SerfCompat, RejectsCorruptAndOversizedTags) {
  EXPECT_FALSE(serf::decode_tags(hex("ff 82 a1 61")).ok());
  EXPECT_FALSE(serf::decode_tags(hex("ff 93 01 02 03")).ok());
  auto too_big = serf::encode_tags({{"k", std::string(600, 'v')}});
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.error().message(), ::testing::HasSubstr("512"));
}

TEST(SerfCompat, JoinIntentMatchesProtocolsExample) {
  const Bytes wire = encode(UserPacket{serf::encode_join_intent(3, "node-a")});
  EXPECT_EQ(
      to_hex(wire),
      to_hex(cat({hex("08 01 82"), fixraw("LTime"), hex("03"), fixraw("Node"), fixraw("node-a")})));
  EXPECT_EQ(serf::message_ltime(serf::encode_leave_intent(9, "x")), 9u);
  EXPECT_EQ(to_hex(serf::encode_leave_intent(9, "x")),
            to_hex(cat({hex("00 83"), fixraw("LTime"), hex("09"), fixraw("Node"), fixraw("x"),
                        fixraw("Prune"), hex("c2")})));
}

}  // namespace
}  // namespace shoal::gossip
