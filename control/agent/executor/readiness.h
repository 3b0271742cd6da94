// Whether a new task is ready for traffic: its published TCP target ports accept a connection.
//
// Docker puts a task in rotation once its process starts, so the first requests can meet a
// process that is not listening yet (connection refused). The agent holds such a task out of
// rotation until each published TCP port accepts, for at most a bound (see Executor).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::agent {

// Connects to ip:port for each port from inside the named network namespace (the task's own).
// True when every one accepts; false while one refuses; an error when the probe itself cannot run.
Result<bool> tcp_ports_accept(const std::string& netns_name, Ipv4 ip,
                              const std::vector<uint16_t>& ports);

}  // namespace shoal::agent
