// One run of a piece of work per key at a time, its result shared by every caller that asked
// while it ran: the image store's pulls per reference and unpacks per image. Twenty tasks of one
// service starting on a node make one skopeo copy, not twenty, and never two copies racing to
// put the same image into place. Different keys run in parallel. A caller that arrives after
// the run finished starts a new one (the store has made the repeat cheap by then).
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>

namespace shoal::images {

template <typename T>
class SingleFlight {
 public:
  // `work` runs on the calling thread of the first caller and must not throw; the others block
  // until it returns. `joined` (optional) is set to whether this call shared another's run.
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
    T result = work();
    lock.lock();
    running_.erase(key);
    lock.unlock();
    promise.set_value(result);
    return result;
  }

  size_t running() const {
    std::lock_guard lock(mutex_);
    return running_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_future<T>> running_;
};

}  // namespace shoal::images
