// Polling with a deadline, for tests that wait on something another process does.
#pragma once

#include <chrono>
#include <thread>

namespace shoal::testing {

// Calls `predicate` every `period` until it returns true or `timeout` has passed; returns the
// last answer (so a predicate that turns true at the deadline still counts).
template <typename Predicate>
bool wait_until(Predicate&& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds period = std::chrono::milliseconds(200)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return predicate();
    }
    std::this_thread::sleep_for(period);
  }
}

}  // namespace shoal::testing
