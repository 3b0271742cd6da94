// Fuzzes Serf tag decoding from memberlist Meta and the Serf message LTime reader.
#include "gossip/serf/serf_compat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)shoal::gossip::serf::decode_tags({data, size});
  (void)shoal::gossip::serf::message_ltime({data, size});
  return 0;
}
