#include "gossip/memberlist/stream.h"

#include "gossip/memberlist/lzw.h"

namespace shoal::gossip {

namespace {

Error stream_error(std::string detail) {
  return Error{"decode", "stream", 0, std::move(detail)};
}

template <typename M>
Bytes with_type(MessageType type, const M& m) {
  Bytes out{static_cast<uint8_t>(type)};
  MsgpackWriter w(out);
  encode_body(w, m);
  return out;
}

uint32_t read_be32(ByteView b) {
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}

UnpackLimits compressed_limits(const StreamLimits& limits) {
  UnpackLimits u;
  u.max_string = limits.max_frame;
  return u;
}

// Parses one msgpack value; nullopt when more input is needed.
using MaybeHandle = std::optional<msgpack::object_handle>;

Result<std::optional<StreamMessage>> decode_push_pull(ByteView data, size_t& offset,
                                                      const StreamLimits& limits) {
  const UnpackLimits unpack_limits;
  SHOAL_ASSIGN_OR_RETURN(MaybeHandle head, unpack_value(data, offset, unpack_limits, "push-pull"));
  if (!head)
    return std::optional<StreamMessage>{};
  PushPull pp;
  SHOAL_ASSIGN_OR_RETURN(pp.header, decode_push_pull_header(head->get()));
  if (static_cast<uint64_t>(pp.header.nodes) > limits.max_nodes) {
    return stream_error("push-pull announces " + std::to_string(pp.header.nodes) +
                        " nodes, more than " + std::to_string(limits.max_nodes));
  }
  if (static_cast<uint64_t>(pp.header.user_state_len) > limits.max_user_bytes) {
    return stream_error("push-pull user state of " + std::to_string(pp.header.user_state_len) +
                        " bytes is too large");
  }
  for (int64_t i = 0; i < pp.header.nodes; ++i) {
    SHOAL_ASSIGN_OR_RETURN(MaybeHandle node,
                           unpack_value(data, offset, unpack_limits, "push-pull node"));
    if (!node)
      return std::optional<StreamMessage>{};
    SHOAL_ASSIGN_OR_RETURN(PushNodeState state, decode_push_node_state(node->get()));
    pp.nodes.push_back(std::move(state));
  }
  const size_t user_len = static_cast<size_t>(pp.header.user_state_len);
  if (data.size() - offset < user_len)
    return std::optional<StreamMessage>{};
  pp.user_state.assign(data.begin() + offset, data.begin() + offset + user_len);
  offset += user_len;
  return std::optional<StreamMessage>(std::move(pp));
}

}  // namespace

Bytes encode_stream(const PushPull& m) {
  PushPullHeader header = m.header;
  header.nodes = static_cast<int64_t>(m.nodes.size());
  header.user_state_len = static_cast<int64_t>(m.user_state.size());
  Bytes out{static_cast<uint8_t>(MessageType::kPushPull)};
  MsgpackWriter w(out);
  encode_body(w, header);
  for (const PushNodeState& n : m.nodes)
    encode_body(w, n);
  out.insert(out.end(), m.user_state.begin(), m.user_state.end());
  return out;
}

Bytes encode_stream(const UserStream& m) {
  Bytes out = with_type(MessageType::kUser, UserMsgHeader{static_cast<int64_t>(m.payload.size())});
  out.insert(out.end(), m.payload.begin(), m.payload.end());
  return out;
}

Bytes encode_stream(const Ping& m) {
  return encode(m);
}
Bytes encode_stream(const Ack& m) {
  return encode(m);
}
Bytes encode_stream(const ErrResponse& m) {
  return encode(m);
}

Result<Bytes> seal_stream(ByteView plaintext, const WireSecurity& security) {
  Bytes out = add_label({}, security.label);
  if (!security.keyring || !security.verify_outgoing) {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return out;
  }
  const size_t sealed_size = kEncryptOverheadV1 + plaintext.size() +
                             (security.encryption_version == 0 ? 16 - plaintext.size() % 16 : 0);
  Bytes aad{static_cast<uint8_t>(MessageType::kEncrypt), static_cast<uint8_t>(sealed_size >> 24),
            static_cast<uint8_t>(sealed_size >> 16), static_cast<uint8_t>(sealed_size >> 8),
            static_cast<uint8_t>(sealed_size)};
  const Bytes header = aad;
  aad.insert(aad.end(), security.label.begin(), security.label.end());
  SHOAL_ASSIGN_OR_RETURN(
      Bytes blob, seal(security.encryption_version, security.keyring->primary(), plaintext, aad));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), blob.begin(), blob.end());
  return out;
}

Result<std::optional<size_t>> stream_frame_size(ByteView buffered, const WireSecurity& security,
                                                const StreamLimits& limits) {
  size_t label_size = 0;
  if (!buffered.empty() && buffered[0] == static_cast<uint8_t>(MessageType::kHasLabel)) {
    if (buffered.size() < 2 || buffered.size() < 2u + buffered[1]) {
      return std::optional<size_t>{};
    }
    label_size = 2u + buffered[1];
  }
  ByteView rest = buffered.subspan(label_size);
  if (rest.empty())
    return std::optional<size_t>{};
  const uint8_t type = rest[0];
  if (type == static_cast<uint8_t>(MessageType::kEncrypt)) {
    if (rest.size() < 5)
      return std::optional<size_t>{};
    const size_t len = read_be32(rest.subspan(1));
    if (len > limits.max_frame) {
      return stream_error("encrypted frame of " + std::to_string(len) + " bytes is too large");
    }
    if (rest.size() < 5 + len)
      return std::optional<size_t>{};
    return std::optional<size_t>(label_size + 5 + len);
  }
  if (security.keyring && security.verify_incoming) {
    return stream_error("encryption is configured but the remote stream is not encrypted");
  }
  if (type == static_cast<uint8_t>(MessageType::kCompress)) {
    size_t offset = 1;
    SHOAL_ASSIGN_OR_RETURN(MaybeHandle v,
                           unpack_value(rest, offset, compressed_limits(limits), "compress"));
    if (!v)
      return std::optional<size_t>{};
    return std::optional<size_t>(label_size + offset);
  }
  size_t consumed = 0;
  SHOAL_ASSIGN_OR_RETURN(auto message, decode_stream_message(rest, limits, &consumed));
  if (!message) {
    if (rest.size() > limits.max_frame)
      return stream_error("stream frame too large");
    return std::optional<size_t>{};
  }
  return std::optional<size_t>(label_size + consumed);
}

Result<std::optional<StreamMessage>> decode_stream_message(ByteView data,
                                                           const StreamLimits& limits,
                                                           size_t* consumed) {
  using Maybe = std::optional<StreamMessage>;
  if (data.empty())
    return Maybe{};
  const uint8_t type = data[0];
  size_t offset = 1;
  const UnpackLimits unpack_limits;
  Result<Maybe> result = Maybe{};
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPushPull:
      result = decode_push_pull(data, offset, limits);
      break;
    case MessageType::kUser: {
      SHOAL_ASSIGN_OR_RETURN(MaybeHandle h, unpack_value(data, offset, unpack_limits, "user"));
      if (!h)
        return Maybe{};
      SHOAL_ASSIGN_OR_RETURN(UserMsgHeader header, decode_user_msg_header(h->get()));
      const size_t len = static_cast<size_t>(header.user_msg_len);
      if (len > limits.max_user_bytes) {
        return stream_error("user message of " + std::to_string(len) + " bytes is too large");
      }
      if (data.size() - offset < len)
        return Maybe{};
      result = Maybe(UserStream{Bytes(data.begin() + offset, data.begin() + offset + len)});
      offset += len;
      break;
    }
    case MessageType::kPing:
    case MessageType::kAck:
    case MessageType::kErr: {
      SHOAL_ASSIGN_OR_RETURN(MaybeHandle h,
                             unpack_value(data, offset, unpack_limits, message_type_name(type)));
      if (!h)
        return Maybe{};
      if (type == static_cast<uint8_t>(MessageType::kPing)) {
        SHOAL_ASSIGN_OR_RETURN(Ping p, decode_ping(h->get()));
        result = Maybe(std::move(p));
      } else if (type == static_cast<uint8_t>(MessageType::kAck)) {
        SHOAL_ASSIGN_OR_RETURN(Ack a, decode_ack(h->get()));
        result = Maybe(std::move(a));
      } else {
        SHOAL_ASSIGN_OR_RETURN(ErrResponse e, decode_err(h->get()));
        result = Maybe(std::move(e));
      }
      break;
    }
    default:
      return stream_error(std::string("unexpected message type ") + std::to_string(type) + " (" +
                          message_type_name(type) + ") on a stream");
  }
  if (result.ok() && result.value() && consumed)
    *consumed = offset;
  return result;
}

Result<StreamMessage> decode_stream_frame(ByteView frame, const WireSecurity& security,
                                          const StreamLimits& limits) {
  size_t label_size = 0;
  SHOAL_ASSIGN_OR_RETURN(ByteView rest, strip_label(frame, security.label, &label_size));
  Bytes plain;
  if (!rest.empty() && rest[0] == static_cast<uint8_t>(MessageType::kEncrypt)) {
    if (!security.keyring) {
      return stream_error("remote stream is encrypted but no keyring is configured");
    }
    if (rest.size() < 5 || rest.size() - 5 != read_be32(rest.subspan(1))) {
      return stream_error("encrypted frame length does not match");
    }
    Bytes aad(rest.begin(), rest.begin() + 5);
    aad.insert(aad.end(), security.label.begin(), security.label.end());
    SHOAL_ASSIGN_OR_RETURN(plain, open(*security.keyring, rest.subspan(5), aad));
  } else {
    if (security.keyring && security.verify_incoming) {
      return stream_error("encryption is configured but the remote stream is not encrypted");
    }
    plain.assign(rest.begin(), rest.end());
  }
  if (!plain.empty() && plain[0] == static_cast<uint8_t>(MessageType::kCompress)) {
    size_t offset = 1;
    SHOAL_ASSIGN_OR_RETURN(
        auto h, unpack_complete_value(plain, offset, compressed_limits(limits), "compress"));
    SHOAL_ASSIGN_OR_RETURN(Compress c, decode_compress(h.get()));
    if (c.algo != 0) {
      return stream_error("unknown compression algorithm " + std::to_string(c.algo));
    }
    SHOAL_ASSIGN_OR_RETURN(plain, lzw_decompress(c.buf, limits.max_frame * 2));
  }
  size_t consumed = 0;
  SHOAL_ASSIGN_OR_RETURN(auto message, decode_stream_message(plain, limits, &consumed));
  if (!message) {
    return stream_error(
        "truncated " + std::string(message_type_name(plain.empty() ? 255 : plain[0])) + " message");
  }
  return std::move(*message);
}

}  // namespace shoal::gossip
