#include "gossip/net/asio_clock.h"

namespace shoal::gossip {

AsioClock::~AsioClock() {
  for (auto& [id, timer] : timers_)
    timer->cancel();
}

Clock::TimerId AsioClock::schedule(Duration delay, std::function<void()> fn) {
  const TimerId id = next_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec)
      return;  // cancelled; `this` may be gone
    timers_.erase(id);
    fn();
  });
  timers_[id] = std::move(timer);
  return id;
}

void AsioClock::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end())
    return;
  it->second->cancel();
  timers_.erase(it);
}

}  // namespace shoal::gossip
