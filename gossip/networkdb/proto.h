// Docker networkdb's gossip messages (PROTOCOLS.md §C2-C3), in proto3 wire format, hand-encoded:
// the schema is small and fixed, and a hand-written reader can bound every length and count.
//
// Fields are written in ascending field number and zero values are omitted, as protobuf does.
// The reader skips unknown fields of any wire type, rejects truncated or overlong input, and
// never allocates more than the input's size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "gossip/memberlist/bytes.h"

namespace shoal::gossip::networkdb {

enum class GossipType : uint32_t {
  kInvalid = 0,
  kNetworkEvent = 1,
  kTableEvent = 2,
  kPushPull = 3,
  kBulkSync = 4,
  kCompound = 5,
  kNodeEvent = 6,
};

struct GossipMessage {
  GossipType type = GossipType::kInvalid;
  Bytes data;
  bool operator==(const GossipMessage&) const = default;
};

enum class NodeEventType : uint32_t { kInvalid = 0, kJoin = 1, kLeave = 2 };
struct NodeEvent {
  NodeEventType type = NodeEventType::kInvalid;
  uint64_t ltime = 0;
  std::string node_name;
  bool operator==(const NodeEvent&) const = default;
};

enum class NetworkEventType : uint32_t { kInvalid = 0, kJoin = 1, kLeave = 2 };
struct NetworkEvent {
  NetworkEventType type = NetworkEventType::kInvalid;
  uint64_t ltime = 0;
  std::string node_name;
  std::string network_id;
  bool operator==(const NetworkEvent&) const = default;
};

struct NetworkEntry {
  std::string network_id;
  uint64_t ltime = 0;
  std::string node_name;
  bool leaving = false;
  bool operator==(const NetworkEntry&) const = default;
};

struct NetworkPushPull {
  uint64_t ltime = 0;
  std::vector<NetworkEntry> networks;
  std::string node_name;
  bool operator==(const NetworkPushPull&) const = default;
};

enum class TableEventType : uint32_t { kInvalid = 0, kCreate = 1, kUpdate = 2, kDelete = 3 };
struct TableEvent {
  TableEventType type = TableEventType::kInvalid;
  uint64_t ltime = 0;
  std::string node_name;  // the owner
  std::string network_id;
  std::string table_name;
  std::string key;
  Bytes value;
  int32_t residual_reap_time = 0;  // seconds
  bool operator==(const TableEvent&) const = default;
};

struct BulkSyncMessage {
  uint64_t ltime = 0;
  bool unsolicited = false;
  std::string node_name;
  std::vector<std::string> networks;
  Bytes payload;  // a serialized COMPOUND GossipMessage of TableEvents
  bool operator==(const BulkSyncMessage&) const = default;
};

struct CompoundMessage {
  std::vector<Bytes> messages;  // each a serialized GossipMessage
  bool operator==(const CompoundMessage&) const = default;
};

Bytes encode(const GossipMessage& m);
Bytes encode(const NodeEvent& m);
Bytes encode(const NetworkEvent& m);
Bytes encode(const NetworkPushPull& m);
Bytes encode(const TableEvent& m);
Bytes encode(const BulkSyncMessage& m);
Bytes encode(const CompoundMessage& m);

Result<GossipMessage> decode_gossip_message(ByteView b);
Result<NodeEvent> decode_node_event(ByteView b);
Result<NetworkEvent> decode_network_event(ByteView b);
Result<NetworkPushPull> decode_network_push_pull(ByteView b);
Result<TableEvent> decode_table_event(ByteView b);
Result<BulkSyncMessage> decode_bulk_sync(ByteView b);
Result<CompoundMessage> decode_compound(ByteView b, size_t max_messages = 4096);

// GossipMessage{type, encode(inner)}, serialized.
template <typename M>
Bytes wrap(GossipType type, const M& inner) {
  return encode(GossipMessage{type, encode(inner)});
}

}  // namespace shoal::gossip::networkdb
