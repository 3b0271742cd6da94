// Fuzzes the LZW decoder; anything it accepts must survive a compress/decompress round trip.
#include "gossip/memberlist/lzw.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto out = shoal::gossip::lzw_decompress({data, size}, 1 << 20);
  if (out.ok()) {
    auto again = shoal::gossip::lzw_decompress(shoal::gossip::lzw_compress(*out), 1 << 20);
    if (!again.ok() || *again != *out)
      __builtin_trap();
  }
  return 0;
}
