// The service endpoint table as gossip carries it ("endpoint_table": network -> endpoint id ->
// an EndpointRecord in protobuf), turned into ServiceFeed calls on this node.
//
// Each node publishes rows for the tasks it runs; every node that has the network receives them
// through the table's watch API. A row from this node's own agent is a local task (what mode=host
// and source-keeping ports need); a disabled row is a stopping task, out of rotation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "control/agent/rows/service_feed.h"
#include "gossip/networkdb/table_store.h"

namespace shoal::agent {

inline constexpr const char* kEndpointTable = "endpoint_table";

using gossip::Bytes;

Bytes encode_endpoint(const EndpointRecord& record);
// network and key come from the table, owner from the entry: the node that published it.
Result<EndpointRecord> decode_endpoint(const Bytes& value, const std::string& network,
                                       const std::string& key, bool local);

class EndpointTableFeed {
 public:
  EndpointTableFeed(std::string self, ServiceFeed& feed) : self_(std::move(self)), feed_(&feed) {}

  // Register with NetworkDb::watch(kEndpointTable, ...). A row that does not decode is counted
  // and otherwise ignored: one bad publisher must not stop the others' rows.
  Status on_event(const gossip::networkdb::WatchEvent& event);
  uint64_t rejected() const { return rejected_; }

 private:
  std::string self_;
  ServiceFeed* feed_;
  std::map<std::pair<std::string, std::string>, std::string> services_;  // (network, key) -> id
  uint64_t rejected_ = 0;
};

}  // namespace shoal::agent
