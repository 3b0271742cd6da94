// Continuous requests for the e2e tests: a thread that asks `hosts` in turn until stopped and
// records every answer with its time, so a test can say which requests failed and when.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace shoal::e2e {

class Load {
 public:
  struct Request {
    std::chrono::steady_clock::time_point at;
    int host = 0;
    std::string answer;  // empty: the request failed
  };

  Load(std::function<std::string(int)> request, std::vector<int> hosts)
      : request_(std::move(request)), hosts_(std::move(hosts)), thread_([this] { run(); }) {}
  ~Load() { stop(); }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  std::vector<Request> stop() {
    stopping_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    return done_;
  }

 private:
  void run() {
    for (size_t i = 0; !stopping_; ++i) {
      int host = hosts_[i % hosts_.size()];
      auto at = std::chrono::steady_clock::now();
      done_.push_back({at, host, request_(host)});
    }
  }

  std::function<std::string(int)> request_;
  std::vector<int> hosts_;
  std::atomic<bool> stopping_ = false;
  std::vector<Request> done_;
  std::thread thread_;
};

}  // namespace shoal::e2e
