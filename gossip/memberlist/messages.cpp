#include "gossip/memberlist/messages.h"

#include <limits>

namespace shoal::gossip {

const char* message_type_name(uint8_t type) {
  switch (type) {
    case 0:
      return "ping";
    case 1:
      return "indirect-ping";
    case 2:
      return "ack";
    case 3:
      return "suspect";
    case 4:
      return "alive";
    case 5:
      return "dead";
    case 6:
      return "push-pull";
    case 7:
      return "compound";
    case 8:
      return "user";
    case 9:
      return "compress";
    case 10:
      return "encrypt";
    case 11:
      return "nack";
    case 12:
      return "has-crc";
    case 13:
      return "err";
    case 244:
      return "has-label";
    default:
      return "unknown";
  }
}

// ---- encoding ----

void encode_body(MsgpackWriter& w, const Ping& m) {
  const bool addr = !m.source_addr.empty(), port = m.source_port != 0,
             source = !m.source_node.empty();
  w.map(2 + addr + port + source);
  w.key("SeqNo"), w.uint(m.seq_no);
  w.key("Node"), w.raw(m.node);
  if (addr)
    w.key("SourceAddr"), w.raw(m.source_addr);
  if (port)
    w.key("SourcePort"), w.uint(m.source_port);
  if (source)
    w.key("SourceNode"), w.raw(m.source_node);
}

void encode_body(MsgpackWriter& w, const IndirectPing& m) {
  const bool addr = !m.source_addr.empty(), port = m.source_port != 0,
             source = !m.source_node.empty();
  w.map(5 + addr + port + source);
  w.key("SeqNo"), w.uint(m.seq_no);
  w.key("Target"), w.raw(m.target);
  w.key("Port"), w.uint(m.port);
  w.key("Node"), w.raw(m.node);
  w.key("Nack"), w.boolean(m.nack);
  if (addr)
    w.key("SourceAddr"), w.raw(m.source_addr);
  if (port)
    w.key("SourcePort"), w.uint(m.source_port);
  if (source)
    w.key("SourceNode"), w.raw(m.source_node);
}

void encode_body(MsgpackWriter& w, const Ack& m) {
  w.map(2);
  w.key("SeqNo"), w.uint(m.seq_no);
  w.key("Payload");
  m.payload.empty() ? w.nil() : w.raw(m.payload);
}

void encode_body(MsgpackWriter& w, const Nack& m) {
  w.map(1);
  w.key("SeqNo"), w.uint(m.seq_no);
}

void encode_body(MsgpackWriter& w, const Suspect& m) {
  w.map(3);
  w.key("Incarnation"), w.uint(m.incarnation);
  w.key("Node"), w.raw(m.node);
  w.key("From"), w.raw(m.from);
}

void encode_body(MsgpackWriter& w, const Alive& m) {
  w.map(6);
  w.key("Incarnation"), w.uint(m.incarnation);
  w.key("Node"), w.raw(m.node);
  w.key("Addr"), w.raw(m.addr);
  w.key("Port"), w.uint(m.port);
  w.key("Meta"), w.raw(m.meta);
  w.key("Vsn"), w.raw(m.vsn);
}

void encode_body(MsgpackWriter& w, const Dead& m) {
  w.map(3);
  w.key("Incarnation"), w.uint(m.incarnation);
  w.key("Node"), w.raw(m.node);
  w.key("From"), w.raw(m.from);
}

void encode_body(MsgpackWriter& w, const Compress& m) {
  w.map(2);
  w.key("Algo"), w.go_int(m.algo);
  w.key("Buf"), w.raw(m.buf);
}

void encode_body(MsgpackWriter& w, const ErrResponse& m) {
  w.map(1);
  w.key("Error"), w.raw(m.error);
}

void encode_body(MsgpackWriter& w, const PushPullHeader& m) {
  w.map(3);
  w.key("Nodes"), w.go_int(m.nodes);
  w.key("UserStateLen"), w.go_int(m.user_state_len);
  w.key("Join"), w.boolean(m.join);
}

void encode_body(MsgpackWriter& w, const PushNodeState& m) {
  w.map(7);
  w.key("Name"), w.raw(m.name);
  w.key("Addr"), w.raw(m.addr);
  w.key("Port"), w.uint(m.port);
  w.key("Meta"), w.raw(m.meta);
  w.key("Incarnation"), w.uint(m.incarnation);
  w.key("State"), w.go_int(m.state);
  w.key("Vsn"), w.raw(m.vsn);
}

void encode_body(MsgpackWriter& w, const UserMsgHeader& m) {
  w.map(1);
  w.key("UserMsgLen"), w.go_int(m.user_msg_len);
}

namespace {
template <typename M>
Bytes encode_with_type(MessageType type, const M& m) {
  Bytes out{static_cast<uint8_t>(type)};
  MsgpackWriter w(out);
  encode_body(w, m);
  return out;
}
}  // namespace

Bytes encode(const Ping& m) {
  return encode_with_type(MessageType::kPing, m);
}
Bytes encode(const IndirectPing& m) {
  return encode_with_type(MessageType::kIndirectPing, m);
}
Bytes encode(const Ack& m) {
  return encode_with_type(MessageType::kAck, m);
}
Bytes encode(const Nack& m) {
  return encode_with_type(MessageType::kNack, m);
}
Bytes encode(const Suspect& m) {
  return encode_with_type(MessageType::kSuspect, m);
}
Bytes encode(const Alive& m) {
  return encode_with_type(MessageType::kAlive, m);
}
Bytes encode(const Dead& m) {
  return encode_with_type(MessageType::kDead, m);
}
Bytes encode(const Compress& m) {
  return encode_with_type(MessageType::kCompress, m);
}
Bytes encode(const ErrResponse& m) {
  return encode_with_type(MessageType::kErr, m);
}
Bytes encode(const UserPacket& m) {
  const uint8_t type = static_cast<uint8_t>(MessageType::kUser);
  return concat(ByteView(&type, 1), m.payload);
}

// ---- decoding ----

namespace {

template <typename OnField>
Status for_each_field(const msgpack::object& o, std::string_view what, OnField&& on_field) {
  if (o.type != msgpack::type::MAP) {
    return Error{"decode", std::string(what), 0, "expected a msgpack map"};
  }
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const msgpack::object_kv& kv = o.via.map.ptr[i];
    SHOAL_ASSIGN_OR_RETURN(std::string_view key, read_key(kv.key, what));
    SHOAL_TRY(on_field(key, kv.val));
  }
  return {};
}

template <typename T>
Status assign(T& out, Result<T> value) {
  if (!value.ok()) {
    return std::move(value).error();
  }
  out = std::move(value).value();
  return {};
}

using Obj = msgpack::object;

}  // namespace

Result<Ping> decode_ping(const Obj& o) {
  Ping m;
  SHOAL_TRY(for_each_field(o, "ping", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "SeqNo")
      return read_uint_into(v, "ping.SeqNo", m.seq_no);
    if (k == "Node")
      return assign(m.node, read_string(v, "ping.Node"));
    if (k == "SourceAddr")
      return assign(m.source_addr, read_bytes(v, "ping.SourceAddr"));
    if (k == "SourcePort")
      return read_uint_into(v, "ping.SourcePort", m.source_port);
    if (k == "SourceNode")
      return assign(m.source_node, read_string(v, "ping.SourceNode"));
    return {};
  }));
  return m;
}

Result<IndirectPing> decode_indirect_ping(const Obj& o) {
  IndirectPing m;
  SHOAL_TRY(for_each_field(o, "indirect-ping", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "SeqNo")
      return read_uint_into(v, "indirect-ping.SeqNo", m.seq_no);
    if (k == "Target")
      return assign(m.target, read_bytes(v, "indirect-ping.Target"));
    if (k == "Port")
      return read_uint_into(v, "indirect-ping.Port", m.port);
    if (k == "Node")
      return assign(m.node, read_string(v, "indirect-ping.Node"));
    if (k == "Nack")
      return assign(m.nack, read_bool(v, "indirect-ping.Nack"));
    if (k == "SourceAddr")
      return assign(m.source_addr, read_bytes(v, "indirect-ping.SourceAddr"));
    if (k == "SourcePort")
      return read_uint_into(v, "indirect-ping.SourcePort", m.source_port);
    if (k == "SourceNode")
      return assign(m.source_node, read_string(v, "indirect-ping.SourceNode"));
    return {};
  }));
  return m;
}

Result<Ack> decode_ack(const Obj& o) {
  Ack m;
  SHOAL_TRY(for_each_field(o, "ack", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "SeqNo")
      return read_uint_into(v, "ack.SeqNo", m.seq_no);
    if (k == "Payload")
      return assign(m.payload, read_bytes(v, "ack.Payload"));
    return {};
  }));
  return m;
}

Result<Nack> decode_nack(const Obj& o) {
  Nack m;
  SHOAL_TRY(for_each_field(o, "nack", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "SeqNo")
      return read_uint_into(v, "nack.SeqNo", m.seq_no);
    return {};
  }));
  return m;
}

Result<Suspect> decode_suspect(const Obj& o) {
  Suspect m;
  SHOAL_TRY(for_each_field(o, "suspect", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Incarnation")
      return read_uint_into(v, "suspect.Incarnation", m.incarnation);
    if (k == "Node")
      return assign(m.node, read_string(v, "suspect.Node"));
    if (k == "From")
      return assign(m.from, read_string(v, "suspect.From"));
    return {};
  }));
  return m;
}

Result<Alive> decode_alive(const Obj& o) {
  Alive m;
  SHOAL_TRY(for_each_field(o, "alive", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Incarnation")
      return read_uint_into(v, "alive.Incarnation", m.incarnation);
    if (k == "Node")
      return assign(m.node, read_string(v, "alive.Node"));
    if (k == "Addr")
      return assign(m.addr, read_bytes(v, "alive.Addr"));
    if (k == "Port")
      return read_uint_into(v, "alive.Port", m.port);
    if (k == "Meta")
      return assign(m.meta, read_bytes(v, "alive.Meta"));
    if (k == "Vsn")
      return assign(m.vsn, read_bytes(v, "alive.Vsn"));
    return {};
  }));
  return m;
}

Result<Dead> decode_dead(const Obj& o) {
  Dead m;
  SHOAL_TRY(for_each_field(o, "dead", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Incarnation")
      return read_uint_into(v, "dead.Incarnation", m.incarnation);
    if (k == "Node")
      return assign(m.node, read_string(v, "dead.Node"));
    if (k == "From")
      return assign(m.from, read_string(v, "dead.From"));
    return {};
  }));
  return m;
}

Result<Compress> decode_compress(const Obj& o) {
  Compress m;
  SHOAL_TRY(for_each_field(o, "compress", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Algo")
      return assign(m.algo, read_int(v, "compress.Algo"));
    if (k == "Buf")
      return assign(m.buf, read_bytes(v, "compress.Buf"));
    return {};
  }));
  return m;
}

Result<ErrResponse> decode_err(const Obj& o) {
  ErrResponse m;
  SHOAL_TRY(for_each_field(o, "err", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Error")
      return assign(m.error, read_string(v, "err.Error"));
    return {};
  }));
  return m;
}

Result<PushPullHeader> decode_push_pull_header(const Obj& o) {
  PushPullHeader m;
  SHOAL_TRY(for_each_field(o, "push-pull header", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Nodes")
      return assign(m.nodes, read_int(v, "push-pull.Nodes"));
    if (k == "UserStateLen")
      return assign(m.user_state_len, read_int(v, "push-pull.UserStateLen"));
    if (k == "Join")
      return assign(m.join, read_bool(v, "push-pull.Join"));
    return {};
  }));
  if (m.nodes < 0 || m.user_state_len < 0) {
    return Error{"decode", "push-pull header", 0, "negative node count or user state length"};
  }
  return m;
}

Result<PushNodeState> decode_push_node_state(const Obj& o) {
  PushNodeState m;
  SHOAL_TRY(for_each_field(o, "push-pull node", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "Name")
      return assign(m.name, read_string(v, "push-pull.Name"));
    if (k == "Addr")
      return assign(m.addr, read_bytes(v, "push-pull.Addr"));
    if (k == "Port")
      return read_uint_into(v, "push-pull.Port", m.port);
    if (k == "Meta")
      return assign(m.meta, read_bytes(v, "push-pull.Meta"));
    if (k == "Incarnation")
      return read_uint_into(v, "push-pull.Incarnation", m.incarnation);
    if (k == "State")
      return assign(m.state, read_int(v, "push-pull.State"));
    if (k == "Vsn")
      return assign(m.vsn, read_bytes(v, "push-pull.Vsn"));
    return {};
  }));
  return m;
}

Result<UserMsgHeader> decode_user_msg_header(const Obj& o) {
  UserMsgHeader m;
  SHOAL_TRY(for_each_field(o, "user header", [&](std::string_view k, const Obj& v) -> Status {
    if (k == "UserMsgLen")
      return assign(m.user_msg_len, read_int(v, "user.UserMsgLen"));
    return {};
  }));
  if (m.user_msg_len < 0) {
    return Error{"decode", "user header", 0, "negative UserMsgLen"};
  }
  return m;
}

namespace {
template <typename M>
Result<PacketMessage> decode_as(Result<M> decoded) {
  if (!decoded.ok()) {
    return std::move(decoded).error();
  }
  return PacketMessage(std::move(decoded).value());
}
}  // namespace

Result<PacketMessage> decode_packet_message(ByteView message) {
  if (message.empty()) {
    return Error{"decode", "packet message", 0, "empty message"};
  }
  const uint8_t type = message[0];
  if (type == static_cast<uint8_t>(MessageType::kUser)) {
    return PacketMessage(UserPacket{Bytes(message.begin() + 1, message.end())});
  }
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPing:
    case MessageType::kIndirectPing:
    case MessageType::kAck:
    case MessageType::kNack:
    case MessageType::kSuspect:
    case MessageType::kAlive:
    case MessageType::kDead:
      break;
    default:
      return Error{"decode", "packet message", 0,
                   std::string("unexpected message type ") + std::to_string(type) + " (" +
                       message_type_name(type) + ") on the packet path"};
  }
  size_t offset = 1;
  const UnpackLimits limits;  // packet bodies are at most 64 KiB; 64 KiB per field is the cap
  SHOAL_ASSIGN_OR_RETURN(auto handle,
                         unpack_complete_value(message, offset, limits, message_type_name(type)));
  const Obj& body = handle.get();
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPing:
      return decode_as(decode_ping(body));
    case MessageType::kIndirectPing:
      return decode_as(decode_indirect_ping(body));
    case MessageType::kAck:
      return decode_as(decode_ack(body));
    case MessageType::kNack:
      return decode_as(decode_nack(body));
    case MessageType::kSuspect:
      return decode_as(decode_suspect(body));
    case MessageType::kAlive:
      return decode_as(decode_alive(body));
    case MessageType::kDead:
      return decode_as(decode_dead(body));
    default:
      return Error{"decode", "packet message", 0, "unreachable"};
  }
}

}  // namespace shoal::gossip
