#include "ebpf/slot_plan.h"

namespace shoal::ebpf {

std::vector<Ipv4> plan_slots(const std::vector<lb::Backend>& backends, size_t max_slots) {
  uint64_t total = 0;
  for (const lb::Backend& b : backends) {
    if (b.state == lb::BackendState::kActive)
      total += b.weight;
  }
  std::vector<Ipv4> slots;
  if (total == 0 || max_slots == 0) {
    return slots;
  }
  for (const lb::Backend& b : backends) {
    if (b.state != lb::BackendState::kActive || b.weight == 0)
      continue;
    uint64_t share = total <= max_slots ? b.weight : b.weight * max_slots / total;
    share = std::max<uint64_t>(share, 1);
    for (uint64_t i = 0; i < share && slots.size() < max_slots; ++i)
      slots.push_back(b.ip);
  }
  return slots;
}

}  // namespace shoal::ebpf
