// One run of a piece of work per key at a time, its result shared by every caller that asked
// while it ran: the image store's pulls per reference and unpacks per image. Twenty tasks of one
// service starting on a node make one skopeo copy, not twenty, and never two copies racing to
// put the same image into place. Different keys run in parallel. A caller that arrives after
// the run finished starts a new one (the store has made the repeat cheap by then).
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>

namespace shoal::images {

template <typename T>
class SingleFlight {
 public:
  // `work` runs on the calling thread of the first caller; the others block until it returns
  // (and rethrow what it threw). `joined` (optional) is set to whether this call shared another's
  // run.
  T run(const std::string& key, const std::function<T()>& work, bool* joined = nullptr) {
    std::unique_lock lock(mutex_);
    if (auto it = running_.find(key); it != running_.end()) {
      std::shared_future<T> shared = it->second;
      lock.unlock();
      if (joined != nullptr)
        *joined = true;
      return shared.get();
    }
    std::promise<T> promise;
    running_.emplace(key, promise.get_future().share());
    lock.unlock();
    if (joined != nullptr)
      *joined = false;
    // Whatever happens, the key is freed and the waiters get an answer: a throwing `work`
    // (bad_alloc) must not leave every later caller of the key waiting on a dead run.
    try {
      T result = work();
      finish(key);
      promise.set_value(result);
      return result;
    } catch (...) {
      finish(key);
      promise.set_exception(std::current_exception());
      throw;
    }
  }

  size_t running() const {
    std::lock_guard lock(mutex_);
    return running_.size();
  }

 private:
  void finish(const std::string& key) {
    std::lock_guard lock(mutex_);
    running_.erase(key);
  }

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_future<T>> running_;
};

}  // namespace shoal::images
