// The desired overlay state of one node, as `shoal-dataplane apply` reads it from JSON:
// {"networks": [{"id", "vni", "subnet", "gateway", "mtu"?, "gateway_on_bridge"?,
//                "endpoints": [{"id", "ip", "netns"?, "ifname"?, "mac"?, "default_route"?,
//                               "holds_gateway"?}],
//                "peers": [{"ip", "vtep", "mac"?}]}]}
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/overlay_spec.h"

namespace shoal::dataplane {

struct NetworkState {
  NetworkSpec spec;
  std::vector<EndpointSpec> endpoints;
  std::vector<PeerSpec> peers;
};

struct NodeState {
  std::vector<NetworkState> networks;
};

Result<NodeState> parse_node_state(const std::string& json_text);

}  // namespace shoal::dataplane
