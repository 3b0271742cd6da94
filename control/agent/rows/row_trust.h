// Which gossiped rows a node believes. Gossip is encrypted, so only swarm members send rows; but
// every member holds the key, so a row is also checked against what the manager says (the
// assignments): its owner must be a node of the swarm, an overlay peer must live at its owner's
// own address (else any member could point a task's address at a VTEP of its choosing), its MAC
// must be the one Shoal derives from its address, addresses must lie in their network's subnet,
// and service names and aliases must be names the control API would accept (else a member could
// answer for any name a task resolves, external ones included).
//
// The assignments also name every address of the node's networks, with the node, task and service
// it belongs to: a row about an address is believed only from the node holding it, and an
// endpoint only for its own task, service and VIP. So a member with the key can no longer add
// itself as a backend of a service, nor claim another node's task.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/net_types.h"
#include "common/result.h"
#include "gossip/networkdb/table_store.h"

namespace shoal::agent {

// Who holds an address on a network, as the manager assigned it.
struct AddressHolder {
  std::string node{};
  std::string task{};  // empty: the node's own endpoint
  std::string service_id{};
  std::string service_name{};
  std::optional<Ipv4> vip{};
  bool operator==(const AddressHolder&) const = default;
};

struct SwarmView {
  std::map<std::string, Ipv4> nodes;          // node id -> underlay address
  std::map<std::string, Ipv4Prefix> subnets;  // network id -> subnet
  // network id -> address -> holder; every network of `subnets` has an entry.
  std::map<std::string, std::map<Ipv4, AddressHolder>> addresses;
  bool operator==(const SwarmView&) const = default;
};

// Whether a created or updated row may be applied; the error says why not. Rows of `self` are
// this node's own and always pass.
Status check_row(const SwarmView& view, const std::string& self,
                 const gossip::networkdb::WatchEvent& event);

}  // namespace shoal::agent
