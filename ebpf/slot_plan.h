// Turns a service's backends into the slots the BPF program chooses from uniformly: a backend
// of weight w gets w slots, scaled down proportionally (at least one slot each, while there is
// room) when the weights add up to more than the slots available. Draining or zero-weight
// backends get none, so they receive no new connections.
#pragma once

#include <cstddef>
#include <vector>

#include "dataplane/lb/load_balancer.h"

namespace shoal::ebpf {

std::vector<Ipv4> plan_slots(const std::vector<lb::Backend>& backends, size_t max_slots);

}  // namespace shoal::ebpf
