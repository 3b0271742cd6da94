#include "gossip/membership/suspicion.h"

#include <cmath>

namespace shoal::gossip {

Duration suspicion_min_timeout(int suspicion_mult, size_t n, Duration probe_interval) {
  const double node_scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(n))));
  // Same integer steps as memberlist: scale in thousandths, then multiply the interval.
  const auto millis = static_cast<int64_t>(node_scale * 1000);
  return suspicion_mult * millis * probe_interval / 1000;
}

Duration suspicion_timeout(int confirmations, int k, Duration min, Duration max) {
  const double frac = std::log(confirmations + 1.0) / std::log(k + 1.0);
  const double min_s = std::chrono::duration<double>(min).count();
  const double max_s = std::chrono::duration<double>(max).count();
  const double raw = max_s - frac * (max_s - min_s);
  const Duration timeout = std::chrono::milliseconds(static_cast<int64_t>(std::floor(1000 * raw)));
  return std::max(timeout, min);
}

bool Suspicion::confirm(const std::string& from) {
  if (confirmations_ >= k_)
    return false;
  if (!accusers_.insert(from).second)
    return false;
  ++confirmations_;
  return true;
}

}  // namespace shoal::gossip
