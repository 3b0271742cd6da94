// Fuzzes the decoder of single packet-path messages (ping, ack, alive, ...).
#include "gossip/memberlist/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoded = shoal::gossip::decode_packet_message({data, size});
  if (decoded.ok()) {
    // Whatever decodes must re-encode and decode to the same value.
    std::visit(
        [](const auto& m) {
          auto again = shoal::gossip::decode_packet_message(shoal::gossip::encode(m));
          if (!again.ok() || !(std::get<std::decay_t<decltype(m)>>(*again) == m))
            __builtin_trap();
        },
        *decoded);
  }
  return 0;
}
