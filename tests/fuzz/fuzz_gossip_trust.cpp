// What a node takes from others about gossip: the keys file it reads at start (and the same JSON
// in cluster.json and etcd), and every row a member sends, checked against the manager's view
// (control/agent/rows/row_trust.h). Neither may crash or leak on any input; keys that parse must
// round-trip.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "control/agent/rows/endpoint_table.h"
#include "control/agent/rows/peer_record.h"
#include "control/agent/rows/row_trust.h"
#include "gossip/keys/gossip_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_discarded()) {
    auto keys = shoal::gossip::gossip_keys_from_json(json);
    if (keys.ok()) {
      auto back = shoal::gossip::gossip_keys_from_json(shoal::gossip::gossip_keys_to_json(*keys));
      if (!back.ok() || *back != *keys)
        __builtin_trap();
      (void)shoal::gossip::keyring_order(*keys);
    }
  }
  static const shoal::agent::SwarmView view{
      .nodes = {{"n1", *shoal::Ipv4::parse("198.51.100.11")}},
      .subnets = {{"net", *shoal::Ipv4Prefix::parse("10.0.1.0/24")}},
      .addresses = {{"net",
                     {{*shoal::Ipv4::parse("10.0.1.5"),
                       {.node = "n1", .task = "key", .service_id = "s", .service_name = "web"}}}}}};
  shoal::gossip::networkdb::WatchEvent event{
      shoal::gossip::networkdb::WatchEventType::kCreate,
      (data[0] & 1) ? shoal::agent::kPeerTable : shoal::agent::kEndpointTable,
      "net",
      "key",
      shoal::gossip::Bytes(text.begin(), text.end()),
      (data[0] & 2) ? "n1" : "n2"};
  (void)shoal::agent::check_row(view, "self", event);
  return 0;
}
