// A manual clock for driving the membership state machine in tests: time moves only when the
// test calls advance(), and timers run in deadline order (ties in scheduling order).
#pragma once

#include <map>
#include <utility>

#include "gossip/membership/interfaces.h"

namespace shoal::gossip::testing {

class FakeClock : public Clock {
 public:
  TimePoint now() const override { return now_; }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;

  // Runs every timer due up to now + d, moving now_ to each deadline in turn.
  void advance(Duration d);
  size_t pending() const { return timers_.size(); }

 private:
  TimePoint now_{std::chrono::hours(1)};
  TimerId next_id_ = 1;
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> timers_;
  std::map<TimerId, TimePoint> deadlines_;
};

}  // namespace shoal::gossip::testing
