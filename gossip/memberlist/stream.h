// The stream (TCP) side of memberlist (PROTOCOLS.md §A6): one request per connection, and one
// reply for push/pull and ping.
//
// A stream is `[f4 len label] <message>`, where the message is plaintext (type byte + msgpack
// values + raw trailing bytes), compressed (09 {Algo, Buf}), or encrypted (0a | len:u32 | blob,
// whose AAD is those five header bytes plus the label). Nothing else delimits a stream, so a
// reader must parse as it goes: stream_frame_size() tells a transport whether the bytes it has
// buffered hold a complete frame yet, without trusting any length it has not bounded.
#pragma once

#include <optional>
#include <variant>
#include <vector>

#include "common/result.h"
#include "gossip/memberlist/framing.h"
#include "gossip/memberlist/messages.h"

namespace shoal::gossip {

struct StreamLimits {
  size_t max_frame = 20 * 1024 * 1024;  // memberlist's maxPushStateBytes
  size_t max_nodes = 1 << 20;           // node states in one push/pull
  size_t max_user_bytes = 20 * 1024 * 1024;
};

struct PushPull {
  PushPullHeader header;  // nodes and user_state_len are filled in by the encoder
  std::vector<PushNodeState> nodes;
  Bytes user_state;
  bool operator==(const PushPull&) const = default;
};

struct UserStream {
  Bytes payload;
  bool operator==(const UserStream&) const = default;
};

using StreamMessage = std::variant<Ping, Ack, PushPull, UserStream, ErrResponse>;

Bytes encode_stream(const PushPull& m);
Bytes encode_stream(const UserStream& m);
Bytes encode_stream(const Ping& m);
Bytes encode_stream(const Ack& m);
Bytes encode_stream(const ErrResponse& m);

// Wraps a plaintext stream message for the wire: encryption (when configured) and label.
Result<Bytes> seal_stream(ByteView plaintext, const WireSecurity& security);

// How many bytes of `buffered` make up the first complete frame; nullopt if more are needed.
Result<std::optional<size_t>> stream_frame_size(ByteView buffered, const WireSecurity& security,
                                                const StreamLimits& limits = {});

// Unwraps one complete frame (label, decryption, decompression) and decodes its message.
Result<StreamMessage> decode_stream_frame(ByteView frame, const WireSecurity& security,
                                          const StreamLimits& limits = {});

// Decodes a plaintext message; nullopt when it is incomplete. `consumed` gets its size.
Result<std::optional<StreamMessage>> decode_stream_message(ByteView plaintext,
                                                           const StreamLimits& limits,
                                                           size_t* consumed);

}  // namespace shoal::gossip
