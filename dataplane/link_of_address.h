// The interface that holds an address, in the calling thread's network namespace: the node's
// uplink is the one holding its advertise address, whatever the host calls it (ens3, enp1s0,
// bond0), never a name assumed.
#pragma once

#include <string>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::dataplane {

Result<std::string> link_holding(Ipv4 address);

}  // namespace shoal::dataplane
