// The agent's use of the node firewall: the addresses overlay (VXLAN) traffic is taken from, as
// the manager's assignments name them. Pure but for the one call into the firewall, so it is
// unit-tested against a fake (tests/unit/agent/node_firewall_agent_test.cpp).
#pragma once

#include <set>

#include "common/net_types.h"
#include "dataplane/firewall/node_firewall.h"
#include "swarm.pb.h"

namespace shoal::agent {

// Every node's address (`nodes`, Down ones too), and the gossip peers' for a manager that
// predates that field. Text that is not an IPv4 address is skipped: it names no node.
std::set<Ipv4> overlay_sources(const api::Assignments& assignments);

// Hands the set to the firewall; a failure is logged, and the next assignment tries again.
void apply_overlay_sources(dataplane::firewall::OverlaySources& firewall,
                           const api::Assignments& assignments);

}  // namespace shoal::agent
