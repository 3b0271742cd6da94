// The decoders of the endpoint and overlay peer table rows: bytes any node of a network can
// publish.
#include <cstddef>
#include <cstdint>

#include "control/agent/rows/endpoint_table.h"
#include "control/agent/rows/peer_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const shoal::gossip::Bytes value(data, data + size);
  auto record = shoal::agent::decode_endpoint(value, "net", "key", false);
  if (record.ok()) {
    // Whatever decodes must encode and decode again to the same service and addresses.
    auto again =
        shoal::agent::decode_endpoint(shoal::agent::encode_endpoint(*record), "net", "key", false);
    if (!again.ok() || again->service_id != record->service_id ||
        again->task_ip != record->task_ip || again->published.size() != record->published.size()) {
      __builtin_trap();
    }
  }
  auto peer = shoal::agent::decode_peer(value);
  if (peer.ok()) {
    auto again = shoal::agent::decode_peer(shoal::agent::encode_peer(*peer));
    if (!again.ok() || again->ip.str() != peer->ip.str() || again->vtep != peer->vtep) {
      __builtin_trap();
    }
  }
  return 0;
}
