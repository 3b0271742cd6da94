// Where the manager port listens.
//
// By default on the advertise address only (port 2377): the one address other nodes are told
// to use. Docker's and Shoal's earlier default, 0.0.0.0:2377, which gRPC binds as [::]:2377
// (every IPv4 and IPv6 address of the host), exposed the port on interfaces the swarm never
// uses. An explicit --listen-addr still wins; 0.0.0.0 given explicitly means every IPv4
// address, and no IPv6 one.
#pragma once

#include <string>

#include "common/unique_fd.h"

namespace shoal::manager {

inline constexpr uint16_t kManagerPort = 2377;

// The listen address to use: `requested` (swarm init/join/restore --listen-addr), else
// `configured` (shoald --listen-addr), else the advertise address with port 2377.
std::string choose_listen_addr(const std::string& requested, const std::string& configured,
                               const std::string& advertise_addr);

// gRPC binds a wildcard 0.0.0.0:PORT as [::]:PORT, dual-stack, and falls back to 0.0.0.0:PORT
// only when [::]:PORT cannot be bound. While the returned socket is held (an IPv6-only socket
// bound to [::]:PORT, never listening), that fallback is what happens: the server then answers
// on IPv4 only. Hold it across the server's start, then drop it. An invalid fd for any other
// address (or port 0, or a host without IPv6), where nothing needs holding.
UniqueFd hold_ipv6_wildcard(const std::string& listen_addr);

}  // namespace shoal::manager
