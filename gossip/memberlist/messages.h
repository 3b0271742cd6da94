// memberlist's wire messages (PROTOCOLS.md §A3), as plain structs with encoders and decoders.
//
// Every message is one type byte followed by one msgpack map keyed by the Go field names, in Go
// declaration order, with `omitempty` fields left out when zero. Byte fields are written as raw
// strings; an empty byte field is written as an empty raw string (a0) except Ack.Payload, which
// memberlist leaves nil (c0) when no ping delegate supplies data. Decoders take the bytes after
// the type byte, ignore unknown keys and leave missing keys at zero, as go-msgpack does.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "common/result.h"
#include "gossip/memberlist/bytes.h"
#include "gossip/memberlist/msgpack_io.h"

namespace shoal::gossip {

enum class MessageType : uint8_t {
  kPing = 0,
  kIndirectPing = 1,
  kAck = 2,
  kSuspect = 3,
  kAlive = 4,
  kDead = 5,
  kPushPull = 6,
  kCompound = 7,
  kUser = 8,
  kCompress = 9,
  kEncrypt = 10,
  kNack = 11,
  kHasCrc = 12,
  kErr = 13,
  kHasLabel = 244,
};

const char* message_type_name(uint8_t type);

struct Ping {
  uint32_t seq_no = 0;
  std::string node;          // intended target; empty for pings sent to an address only
  Bytes source_addr;         // omitempty
  uint16_t source_port = 0;  // omitempty
  std::string source_node;   // omitempty
  bool operator==(const Ping&) const = default;
};

struct IndirectPing {
  uint32_t seq_no = 0;
  Bytes target;
  uint16_t port = 0;
  std::string node;
  bool nack = false;
  Bytes source_addr;
  uint16_t source_port = 0;
  std::string source_node;
  bool operator==(const IndirectPing&) const = default;
};

struct Ack {
  uint32_t seq_no = 0;
  Bytes payload;  // written as nil when empty
  bool operator==(const Ack&) const = default;
};

struct Nack {
  uint32_t seq_no = 0;
  bool operator==(const Nack&) const = default;
};

struct Suspect {
  uint32_t incarnation = 0;
  std::string node;
  std::string from;
  bool operator==(const Suspect&) const = default;
};

struct Alive {
  uint32_t incarnation = 0;
  std::string node;
  Bytes addr;  // 4 bytes (or 16 for a v4-mapped address)
  uint16_t port = 0;
  Bytes meta;
  Bytes vsn;  // {pmin, pmax, pcur, dmin, dmax, dcur}
  bool operator==(const Alive&) const = default;
};

struct Dead {
  uint32_t incarnation = 0;
  std::string node;
  std::string from;  // == node for a voluntary leave
  bool operator==(const Dead&) const = default;
};

// A best-effort user message: the raw bytes after the type byte.
struct UserPacket {
  Bytes payload;
  bool operator==(const UserPacket&) const = default;
};

struct Compress {
  int64_t algo = 0;  // 0 = LZW, the only algorithm memberlist defines
  Bytes buf;
  bool operator==(const Compress&) const = default;
};

struct ErrResponse {
  std::string error;
  bool operator==(const ErrResponse&) const = default;
};

struct PushPullHeader {
  int64_t nodes = 0;
  int64_t user_state_len = 0;
  bool join = false;
  bool operator==(const PushPullHeader&) const = default;
};

enum class NodeStateCode : int64_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };

struct PushNodeState {
  std::string name;
  Bytes addr;
  uint16_t port = 0;
  Bytes meta;
  uint32_t incarnation = 0;
  int64_t state = 0;  // NodeStateCode
  Bytes vsn;
  bool operator==(const PushNodeState&) const = default;
};

struct UserMsgHeader {
  int64_t user_msg_len = 0;
  bool operator==(const UserMsgHeader&) const = default;
};

// Encoders: append the msgpack body only (no type byte) ...
void encode_body(MsgpackWriter& w, const Ping& m);
void encode_body(MsgpackWriter& w, const IndirectPing& m);
void encode_body(MsgpackWriter& w, const Ack& m);
void encode_body(MsgpackWriter& w, const Nack& m);
void encode_body(MsgpackWriter& w, const Suspect& m);
void encode_body(MsgpackWriter& w, const Alive& m);
void encode_body(MsgpackWriter& w, const Dead& m);
void encode_body(MsgpackWriter& w, const Compress& m);
void encode_body(MsgpackWriter& w, const ErrResponse& m);
void encode_body(MsgpackWriter& w, const PushPullHeader& m);
void encode_body(MsgpackWriter& w, const PushNodeState& m);
void encode_body(MsgpackWriter& w, const UserMsgHeader& m);

// ... and whole messages: type byte + body.
Bytes encode(const Ping& m);
Bytes encode(const IndirectPing& m);
Bytes encode(const Ack& m);
Bytes encode(const Nack& m);
Bytes encode(const Suspect& m);
Bytes encode(const Alive& m);
Bytes encode(const Dead& m);
Bytes encode(const UserPacket& m);
Bytes encode(const Compress& m);
Bytes encode(const ErrResponse& m);

// Decoders for one msgpack map value that starts at `offset`; advance `offset` past it.
Result<Ping> decode_ping(const msgpack::object& o);
Result<IndirectPing> decode_indirect_ping(const msgpack::object& o);
Result<Ack> decode_ack(const msgpack::object& o);
Result<Nack> decode_nack(const msgpack::object& o);
Result<Suspect> decode_suspect(const msgpack::object& o);
Result<Alive> decode_alive(const msgpack::object& o);
Result<Dead> decode_dead(const msgpack::object& o);
Result<Compress> decode_compress(const msgpack::object& o);
Result<ErrResponse> decode_err(const msgpack::object& o);
Result<PushPullHeader> decode_push_pull_header(const msgpack::object& o);
Result<PushNodeState> decode_push_node_state(const msgpack::object& o);
Result<UserMsgHeader> decode_user_msg_header(const msgpack::object& o);

// One message of the packet path that the membership layer acts on.
using PacketMessage = std::variant<Ping, IndirectPing, Ack, Nack, Suspect, Alive, Dead, UserPacket>;

// Decodes one complete message (type byte + body) of the packet path. Compound, compress and CRC
// wrappers are handled by framing.h before this.
Result<PacketMessage> decode_packet_message(ByteView message);

}  // namespace shoal::gossip
