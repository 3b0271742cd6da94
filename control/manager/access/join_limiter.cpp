#include "control/manager/access/join_limiter.h"

#include <algorithm>

namespace shoal::manager {

bool JoinLimiter::allow(const std::string& source, SteadyTime now,
                        std::chrono::milliseconds* retry_after) {
  std::lock_guard lock(mutex_);
  auto it = full_at_.find(source);
  if (it == full_at_.end())
    return true;  // no failures remembered: a full bucket
  const auto slack = limits_.refill * (limits_.burst - 1);
  const auto ahead = it->second - now;
  if (ahead <= slack)
    return true;
  if (retry_after != nullptr)
    *retry_after = std::chrono::ceil<std::chrono::milliseconds>(ahead - slack);
  return false;
}

void JoinLimiter::failed(const std::string& source, SteadyTime now) {
  std::lock_guard lock(mutex_);
  auto it = full_at_.find(source);
  if (it == full_at_.end()) {
    make_room(now);
    it = full_at_.emplace(source, now).first;
  }
  it->second = std::max(it->second, now) + limits_.refill;
}

// A full bucket says nothing a missing one would not: those go first. If every remembered
// source is still short, the one nearest to full goes.
void JoinLimiter::make_room(SteadyTime now) {
  if (full_at_.size() < limits_.max_sources)
    return;
  std::erase_if(full_at_, [&](const auto& entry) { return entry.second <= now; });
  if (full_at_.size() < limits_.max_sources)
    return;
  full_at_.erase(
      std::min_element(full_at_.begin(), full_at_.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; }));
}

size_t JoinLimiter::sources() const {
  std::lock_guard lock(mutex_);
  return full_at_.size();
}

std::optional<std::string> LogThrottle::admit(std::string line, SteadyTime now) {
  std::lock_guard lock(mutex_);
  if (last_logged_ && now - *last_logged_ < interval_) {
    ++suppressed_;
    return std::nullopt;
  }
  if (suppressed_ > 0) {
    line += " (" + std::to_string(suppressed_) + " more like it since the last one logged)";
  }
  suppressed_ = 0;
  last_logged_ = now;
  return line;
}

std::string peer_ip(std::string_view peer) {
  auto unescape = [](std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.substr(i).starts_with("%5B") || text.substr(i).starts_with("%5b")) {
        out += '[', i += 2;
      } else if (text.substr(i).starts_with("%5D") || text.substr(i).starts_with("%5d")) {
        out += ']', i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  };
  if (peer.starts_with("ipv4:")) {
    auto rest = peer.substr(5);
    return std::string(rest.substr(0, rest.rfind(':')));
  }
  if (peer.starts_with("ipv6:")) {
    auto rest = unescape(peer.substr(5));
    if (!rest.starts_with("["))
      return "";
    auto close = rest.find(']');
    if (close == std::string::npos)
      return "";
    auto address = rest.substr(1, close - 1);
    constexpr std::string_view kMapped = "::ffff:";
    if (address.size() > kMapped.size() && address.starts_with(kMapped) &&
        address.find('.') != std::string::npos) {
      return address.substr(kMapped.size());
    }
    return address;
  }
  return "";
}

}  // namespace shoal::manager
