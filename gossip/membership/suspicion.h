// Lifeguard's two ingredients (PROTOCOLS.md §A8): local health awareness and the dynamic
// suspicion timeout.
//
// Awareness is a small score, 0 when healthy, that rises when this node has reason to doubt its
// own view (probes it could not complete although helpers answered, accusations it had to refute)
// and falls with each clean probe. The probe interval is scaled by score + 1, so an overloaded
// node slows down instead of accusing healthy peers.
//
// A suspicion starts with a long timeout (max) when enough peers exist to confirm it
// independently (k of them), and every new confirmation shrinks it along a log curve towards min:
// timeout(c) = max − log(c+1)/log(k+1) × (max − min). Independent evidence makes a declaration of
// death fast; a single accuser, who may be the unhealthy one, has to wait.
#pragma once

#include <algorithm>
#include <set>
#include <string>

#include "gossip/membership/types.h"

namespace shoal::gossip {

class Awareness {
 public:
  explicit Awareness(int max_multiplier) : max_(max_multiplier) {}
  void apply_delta(int delta) { score_ = std::clamp(score_ + delta, 0, max_ - 1); }
  int score() const { return score_; }
  Duration scale(Duration d) const { return d * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

// The suspicion timeout window for a cluster of n nodes.
Duration suspicion_min_timeout(int suspicion_mult, size_t n, Duration probe_interval);
// Total timeout after `confirmations` of `k` expected, never below min (floored to ms).
Duration suspicion_timeout(int confirmations, int k, Duration min, Duration max);

// Book-keeping for one suspected node; the timer itself is owned by the Memberlist.
class Suspicion {
 public:
  Suspicion(std::string first_accuser, int k, Duration min, Duration max, TimePoint start)
      : k_(k), min_(min), max_(max), start_(start) {
    accusers_.insert(std::move(first_accuser));
  }
  // Records an accusation; true when it is a new, counted confirmation.
  bool confirm(const std::string& from);
  // When the suspected node should be declared dead, given the confirmations so far.
  TimePoint deadline() const {
    return start_ + (k_ < 1 ? min_ : suspicion_timeout(confirmations_, k_, min_, max_));
  }
  int confirmations() const { return confirmations_; }

 private:
  int k_;
  Duration min_, max_;
  TimePoint start_;
  int confirmations_ = 0;
  std::set<std::string> accusers_;
};

}  // namespace shoal::gossip
