// Fuzzes the packet pipeline: CRC, compound and compress layers, then each message.
#include "gossip/memberlist/framing.h"
#include "gossip/memberlist/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto split = shoal::gossip::split_packet({data, size});
  if (split.ok()) {
    for (const auto& message : split->messages) {
      (void)shoal::gossip::decode_packet_message(message);
    }
  }
  return 0;
}
