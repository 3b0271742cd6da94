// Fuzzes the networkdb proto3 decoders: the outer GossipMessage, then whatever it carries.
#include "gossip/networkdb/proto.h"

using namespace shoal::gossip::networkdb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto outer = decode_gossip_message({data, size});
  if (!outer.ok())
    return 0;
  switch (outer->type) {
    case GossipType::kTableEvent: {
      auto ev = decode_table_event(outer->data);
      if (ev.ok() && !(*decode_table_event(encode(*ev)) == *ev))
        __builtin_trap();
      break;
    }
    case GossipType::kNetworkEvent:
      (void)decode_network_event(outer->data);
      break;
    case GossipType::kNodeEvent:
      (void)decode_node_event(outer->data);
      break;
    case GossipType::kPushPull:
      (void)decode_network_push_pull(outer->data);
      break;
    case GossipType::kBulkSync:
      (void)decode_bulk_sync(outer->data);
      break;
    case GossipType::kCompound:
      (void)decode_compound(outer->data);
      break;
    default:
      break;
  }
  return 0;
}
