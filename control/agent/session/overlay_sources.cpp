#include "control/agent/session/overlay_sources.h"

#include <spdlog/spdlog.h>

#include "gossip/membership/types.h"

namespace shoal::agent {

std::set<Ipv4> overlay_sources(const api::Assignments& assignments) {
  std::set<Ipv4> nodes;
  for (const auto& node : assignments.nodes()) {
    // Down nodes too: a node the manager has lost may still carry its tasks' traffic.
    if (auto addr = Ipv4::parse(node.addr()); addr.ok() && *addr != Ipv4())
      nodes.insert(*addr);
  }
  for (const auto& text : assignments.gossip_peers()) {
    if (auto peer = gossip::NodeAddress::parse(text); peer.ok())
      nodes.insert(peer->ip);
  }
  return nodes;
}

void apply_overlay_sources(dataplane::firewall::OverlaySources& firewall,
                           const api::Assignments& assignments) {
  auto nodes = overlay_sources(assignments);
  if (auto applied = firewall.set_overlay_sources(nodes); !applied.ok()) {
    spdlog::warn("node firewall: overlay sources ({} nodes): {}", nodes.size(),
                 applied.error().message());
  }
}

}  // namespace shoal::agent
