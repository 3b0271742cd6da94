// Fuzzes stream framing (frame size detection) and stream message decoding (push/pull, user).
#include "gossip/memberlist/stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  shoal::gossip::StreamLimits limits;
  limits.max_frame = 1 << 20;
  limits.max_nodes = 4096;
  limits.max_user_bytes = 1 << 20;
  const shoal::gossip::WireSecurity plain;
  auto frame = shoal::gossip::stream_frame_size({data, size}, plain, limits);
  if (frame.ok() && frame->has_value()) {
    if (**frame > size)
      __builtin_trap();
    (void)shoal::gossip::decode_stream_frame({data, **frame}, plain, limits);
  }
  return 0;
}
