#include "gossip/testing/fake_clock.h"

namespace shoal::gossip::testing {

Clock::TimerId FakeClock::schedule(Duration delay, std::function<void()> fn) {
  const TimerId id = next_id_++;
  const TimePoint at = now_ + std::max(delay, Duration::zero());
  timers_.emplace(std::make_pair(at, id), std::move(fn));
  deadlines_[id] = at;
  return id;
}

void FakeClock::cancel(TimerId id) {
  auto it = deadlines_.find(id);
  if (it == deadlines_.end())
    return;
  timers_.erase({it->second, id});
  deadlines_.erase(it);
}

void FakeClock::advance(Duration d) {
  const TimePoint end = now_ + d;
  while (!timers_.empty() && timers_.begin()->first.first <= end) {
    auto node = timers_.extract(timers_.begin());
    deadlines_.erase(node.key().second);
    now_ = node.key().first;
    node.mapped()();
  }
  now_ = end;
}

}  // namespace shoal::gossip::testing
