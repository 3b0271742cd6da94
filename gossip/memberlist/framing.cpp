#include "gossip/memberlist/framing.h"

#include <boost/crc.hpp>

#include "gossip/memberlist/lzw.h"
#include "gossip/memberlist/messages.h"

namespace shoal::gossip {

namespace {

uint32_t crc32_ieee(ByteView data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

Error packet_error(std::string detail) {
  return Error{"decode", "packet", 0, std::move(detail)};
}

Status split_into(ByteView payload, const PacketLimits& limits, size_t depth, SplitPacket& out);

Status split_compound(ByteView body, const PacketLimits& limits, size_t depth, SplitPacket& out) {
  if (body.empty()) {
    return packet_error("compound without a part count");
  }
  const size_t count = body[0];
  if (body.size() < 1 + 2 * count) {
    return packet_error("compound of " + std::to_string(count) + " parts is missing lengths");
  }
  size_t offset = 1 + 2 * count;
  for (size_t i = 0; i < count; ++i) {
    const size_t len = static_cast<size_t>(body[1 + 2 * i]) << 8 | body[2 + 2 * i];
    if (offset + len > body.size()) {
      out.truncated += count - i;
      return {};
    }
    SHOAL_TRY(split_into(body.subspan(offset, len), limits, depth + 1, out));
    offset += len;
  }
  return {};
}

Status split_compressed(ByteView body, const PacketLimits& limits, size_t depth, SplitPacket& out) {
  size_t offset = 0;
  UnpackLimits unpack_limits;
  unpack_limits.max_string = 64 * 1024;
  SHOAL_ASSIGN_OR_RETURN(auto handle,
                         unpack_complete_value(body, offset, unpack_limits, "compress"));
  SHOAL_ASSIGN_OR_RETURN(Compress c, decode_compress(handle.get()));
  if (c.algo != 0) {
    return packet_error("unknown compression algorithm " + std::to_string(c.algo));
  }
  SHOAL_ASSIGN_OR_RETURN(Bytes plain, lzw_decompress(c.buf, limits.max_decompressed));
  if (plain.empty()) {
    return packet_error("compressed payload decompresses to nothing");
  }
  return split_into(plain, limits, depth + 1, out);
}

Status split_into(ByteView payload, const PacketLimits& limits, size_t depth, SplitPacket& out) {
  if (payload.empty()) {
    return packet_error("empty message");
  }
  if (depth > limits.max_depth) {
    return packet_error("wrappers nested more than " + std::to_string(limits.max_depth) + " deep");
  }
  switch (static_cast<MessageType>(payload[0])) {
    case MessageType::kCompound:
      return split_compound(payload.subspan(1), limits, depth, out);
    case MessageType::kCompress:
      return split_compressed(payload.subspan(1), limits, depth, out);
    case MessageType::kHasCrc:
      return packet_error("CRC header inside a packet");
    default:
      if (out.messages.size() >= limits.max_messages) {
        return packet_error("more than " + std::to_string(limits.max_messages) + " messages");
      }
      out.messages.emplace_back(payload.begin(), payload.end());
      return {};
  }
}

}  // namespace

Result<Bytes> make_compound(const std::vector<Bytes>& messages) {
  if (messages.size() > 255) {
    return invalid_argument("compound", "more than 255 parts");
  }
  Bytes out;
  out.reserve(2 + 2 * messages.size() + 1400);
  out.push_back(static_cast<uint8_t>(MessageType::kCompound));
  out.push_back(static_cast<uint8_t>(messages.size()));
  for (const Bytes& m : messages) {
    if (m.size() > 0xffff) {
      return invalid_argument("compound", "part longer than 65535 bytes");
    }
    out.push_back(static_cast<uint8_t>(m.size() >> 8));
    out.push_back(static_cast<uint8_t>(m.size()));
  }
  for (const Bytes& m : messages) {
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

Bytes add_crc(ByteView payload) {
  const uint32_t crc = crc32_ieee(payload);
  const uint8_t header[5] = {static_cast<uint8_t>(MessageType::kHasCrc),
                             static_cast<uint8_t>(crc >> 24), static_cast<uint8_t>(crc >> 16),
                             static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc)};
  return concat(header, payload);
}

Bytes make_compressed(ByteView payload) {
  return encode(Compress{0, lzw_compress(payload)});
}

Result<ByteView> strip_label(ByteView raw, const std::string& expected, size_t* header_size) {
  ByteView label;
  ByteView rest = raw;
  if (!raw.empty() && raw[0] == static_cast<uint8_t>(MessageType::kHasLabel)) {
    if (raw.size() < 2 || raw[1] == 0 || raw.size() < 2u + raw[1]) {
      return packet_error("truncated label header");
    }
    label = raw.subspan(2, raw[1]);
    rest = raw.subspan(2u + raw[1]);
  }
  if (!std::ranges::equal(label, as_bytes(expected))) {
    return packet_error("label \"" + to_string(label) + "\" does not match ours (\"" + expected +
                        "\")");
  }
  if (header_size)
    *header_size = raw.size() - rest.size();
  return rest;
}

Bytes add_label(ByteView payload, const std::string& label) {
  Bytes out;
  out.reserve(2 + label.size() + payload.size());
  if (!label.empty()) {
    out.push_back(static_cast<uint8_t>(MessageType::kHasLabel));
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<Bytes> seal_packet(ByteView payload, const WireSecurity& security) {
  if (security.label.size() > 255) {
    return invalid_argument("label", "longer than 255 bytes");
  }
  if (security.keyring && security.verify_outgoing) {
    SHOAL_ASSIGN_OR_RETURN(Bytes blob,
                           seal(security.encryption_version, security.keyring->primary(), payload,
                                as_bytes(security.label)));
    return add_label(blob, security.label);
  }
  return add_label(payload, security.label);
}

Result<Bytes> open_packet(ByteView raw, const WireSecurity& security) {
  SHOAL_ASSIGN_OR_RETURN(ByteView rest, strip_label(raw, security.label, nullptr));
  if (!security.keyring) {
    return Bytes(rest.begin(), rest.end());
  }
  Result<Bytes> plain = open(*security.keyring, rest, as_bytes(security.label));
  if (plain.ok() || security.verify_incoming) {
    return plain;
  }
  return Bytes(rest.begin(), rest.end());
}

Result<SplitPacket> split_packet(ByteView payload, const PacketLimits& limits) {
  if (!payload.empty() && payload[0] == static_cast<uint8_t>(MessageType::kHasCrc)) {
    if (payload.size() < 5) {
      return packet_error("truncated CRC header");
    }
    const uint32_t expected = static_cast<uint32_t>(payload[1]) << 24 |
                              static_cast<uint32_t>(payload[2]) << 16 |
                              static_cast<uint32_t>(payload[3]) << 8 | payload[4];
    payload = payload.subspan(5);
    if (crc32_ieee(payload) != expected) {
      return packet_error("CRC mismatch");
    }
  }
  SplitPacket out;
  SHOAL_TRY(split_into(payload, limits, 0, out));
  return out;
}

}  // namespace shoal::gossip
