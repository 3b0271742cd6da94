// The packet (UDP) pipeline around memberlist messages (PROTOCOLS.md §A5).
//
// Sending wraps outward: several messages become a compound (07 | count | lengths | bodies),
// optionally compressed (09 {Algo, Buf}), prefixed with a CRC-32 (0c | crc) for peers that speak
// protocol 5, encrypted with the primary key, and finally labelled (f4 | len | label). Receiving
// peels the same layers in reverse: label, decryption, CRC check, then compound and compress
// wrappers recursively until only plain messages remain. Every layer is bounded: nesting depth,
// number of parts, decompressed size.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "gossip/memberlist/bytes.h"
#include "gossip/memberlist/keyring.h"

namespace shoal::gossip {

struct PacketLimits {
  size_t max_depth = 4;                   // compound/compress wrappers inside each other
  size_t max_messages = 1024;             // plain messages in one packet
  size_t max_decompressed = 1024 * 1024;  // bytes produced by one compress wrapper
};

// Security settings shared by the packet and stream paths.
struct WireSecurity {
  const Keyring* keyring = nullptr;  // null: no encryption
  bool verify_incoming = true;       // with a keyring: drop what does not decrypt
  bool verify_outgoing = true;       // with a keyring: encrypt what we send
  uint8_t encryption_version = 1;
  std::string label;  // memberlist >= 0.3 only; leave empty for 0.2.x peers
};

// Compound of up to 255 complete messages (each starting with its own type byte).
Result<Bytes> make_compound(const std::vector<Bytes>& messages);
Bytes add_crc(ByteView payload);
Bytes make_compressed(ByteView payload);

Result<Bytes> seal_packet(ByteView payload, const WireSecurity& security);
Result<Bytes> open_packet(ByteView raw, const WireSecurity& security);

struct SplitPacket {
  std::vector<Bytes> messages;  // plain messages, each starting with its type byte
  size_t truncated = 0;         // compound parts cut short (the earlier parts are kept)
};

// Checks the CRC and unpacks compound and compress layers of an opened packet.
Result<SplitPacket> split_packet(ByteView payload, const PacketLimits& limits = {});

// Strips an `f4 | len | label` header when present; the label must equal `expected`.
Result<ByteView> strip_label(ByteView raw, const std::string& expected, size_t* header_size);
Bytes add_label(ByteView payload, const std::string& label);

}  // namespace shoal::gossip
