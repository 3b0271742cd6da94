// The address a node advertises (swarm init, join, restore): an IPv4 address that one of this
// host's interfaces holds, in the node's network namespace.
//
// The overlays' VTEP and the routing mesh's uplink are found from it (the interface that holds
// it, whatever its name: dataplane/link_of_address.h), so an address no interface holds would
// give a node that joins and then cannot carry a single packet of its tasks. Refused at the
// command instead, naming the address.
#pragma once

#include <string>

#include "common/result.h"

namespace shoal::shoald {

// Ok when `addr` is an IPv4 address held by an interface of this namespace; else an error
// naming the address and saying what to give instead.
Status check_advertise_addr(const std::string& addr);

}  // namespace shoal::shoald
