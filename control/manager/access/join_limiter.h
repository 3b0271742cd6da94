// Bounds on the one service anyone can call: the Ca service answers joining nodes without a
// certificate, so a stranger can try join tokens as fast as the manager answers (the review
// measured 1,773 a second, each one a warning in the log). Guessing a 128-bit secret is
// hopeless anyway; what needs bounding is the work and the log.
//
// JoinLimiter is a token bucket per source address, spent only by failed attempts: a source
// gets `burst` failures, then one more per `refill` period. Once its bucket is empty the manager
// answers RESOURCE_EXHAUSTED without checking anything (no token comparison, no CSR parsing, no
// forwarding to the leader). A node joining with a valid token never spends a token, so a
// neighbour's failures cannot lock it out unless they share its address.
//
// LogThrottle lets the first refusal of each interval through and counts the rest; the next
// line logged says how many were left out, so a flood costs one line per interval.
//
// Both are thread-safe and take the clock as a parameter (tests step it by hand).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace shoal::manager {

using SteadyTime = std::chrono::steady_clock::time_point;

struct JoinLimits {
  int burst = 10;                          // failures a source may have in a row
  std::chrono::milliseconds refill{2000};  // one more failure allowed per this period
  size_t max_sources = 4096;               // sources remembered (memory bound)
};

class JoinLimiter {
 public:
  explicit JoinLimiter(JoinLimits limits = {}) : limits_(limits) {}

  // Whether an attempt from `source` may be served now. When not, `retry_after` says when.
  bool allow(const std::string& source, SteadyTime now, std::chrono::milliseconds* retry_after);
  // A failed attempt from `source` spends one token.
  void failed(const std::string& source, SteadyTime now);

  size_t sources() const;

 private:
  // The bucket kept as one time (the generic cell rate algorithm): when it will be full
  // again. Each failure moves it a refill period on; the bucket is empty while it lies more
  // than (burst - 1) periods ahead. Exact in integers, and one word per source.
  void make_room(SteadyTime now);

  JoinLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, SteadyTime> full_at_;
};

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // The line to log for this event, or nothing: the first event of an interval is logged (with
  // the number of events left out since the last line logged); later ones are only counted.
  std::optional<std::string> admit(std::string line, SteadyTime now);

 private:
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::optional<SteadyTime> last_logged_;
  size_t suppressed_ = 0;
};

// The IP address of a gRPC peer ("ipv4:10.0.0.1:5000", "ipv6:[::1]:5000", brackets possibly
// percent-encoded; an IPv4-mapped IPv6 address as IPv4), or "" when it is not an IP peer.
std::string peer_ip(std::string_view peer);

}  // namespace shoal::manager
