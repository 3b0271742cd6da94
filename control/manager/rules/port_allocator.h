// Published ports in ingress mode, which are cluster-wide: a port belongs to one service on
// every node. A port given explicitly must be free; a port left at 0 gets the next free one of
// the dynamic range (30000-32767 as Docker's), serially so a freed port is not reused at once.
// Host-mode ports are not held here: they only conflict per node, which the scheduler checks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

class PortAllocator {
 public:
  PortAllocator(uint16_t dynamic_first, uint16_t dynamic_last)
      : first_(dynamic_first), last_(dynamic_last), cursor_(dynamic_first) {}

  // Fills in published ports of `ports` (ingress mode) for `owner` (a service name, used in
  // messages). All or nothing: on error, nothing stays allocated.
  Result<std::vector<PortConfig>> allocate(const std::string& owner, std::vector<PortConfig> ports);
  void release(const std::vector<PortConfig>& ports);
  void clear() { taken_.clear(); }

 private:
  using Key = std::pair<Protocol, uint16_t>;
  Result<uint16_t> next_dynamic(Protocol protocol);

  uint16_t first_;
  uint16_t last_;
  uint16_t cursor_;
  std::map<Key, std::string> taken_;  // -> owner
};

}  // namespace shoal::manager
