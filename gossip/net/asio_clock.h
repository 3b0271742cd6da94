// Clock backed by Boost.Asio steady timers; callbacks run on the io_context's thread(s), which
// must be a single thread (or strand) for the Memberlist.
#pragma once

#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gossip/membership/interfaces.h"

namespace shoal::gossip {

class AsioClock : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io) : io_(io) {}
  ~AsioClock() override;

  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;

 private:
  boost::asio::io_context& io_;
  TimerId next_id_ = 1;
  std::map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace shoal::gossip
