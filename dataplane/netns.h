// Network namespaces: handles, named namespaces under /run/netns, and running code inside one.
//
// Named namespaces are pinned (bind-mounted) where `ip netns` keeps them, in the mount namespace
// that owns /run/netns, so that they outlive the agent, show in `ip netns list`, and are found
// again after a restart. This matters when the agent runs under `ip netns exec`: that gives it a
// slave mount namespace whose mounts never propagate back, so a pin made there would vanish with
// the agent (see pin_mount_ns_fd in netns.cpp).
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace shoal::dataplane {

inline constexpr const char* kNetnsDir = "/run/netns";

// An open network namespace (an nsfs file descriptor) with a label for messages.
class Netns {
 public:
  // The namespace of the calling thread.
  static Result<Netns> current();
  // A namespace file such as /proc/PID/ns/net or /run/netns/NAME.
  static Result<Netns> open_path(const std::string& path);
  // A named namespace under /run/netns.
  static Result<Netns> open_named(const std::string& name);

  int fd() const { return fd_.get(); }
  ino_t inode() const { return inode_; }
  const std::string& label() const { return label_; }

 private:
  friend Result<Netns> open_nsfs(const std::string& path, std::string label);
  Netns(UniqueFd fd, ino_t inode, std::string label)
      : fd_(std::move(fd)), inode_(inode), label_(std::move(label)) {}

  UniqueFd fd_;
  ino_t inode_ = 0;
  std::string label_;
};

// Opens a namespace file and checks that it is one.
Result<Netns> open_nsfs(const std::string& path, std::string label);

// Named namespaces. Creation and deletion are idempotent.
Status create_named_netns(const std::string& name);
Status delete_named_netns(const std::string& name);
bool named_netns_exists(const std::string& name);
Result<std::vector<std::string>> list_named_netns();
// /run/netns/NAME.
std::string named_netns_path(const std::string& name);

// Runs fn() on a short-lived thread that has entered ns, and returns its result. setns() changes
// only the calling thread, so the caller's own namespace is never touched. fn returns a Result.
template <typename F>
auto run_in_netns(const Netns& ns, F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  std::optional<R> result;
  std::thread worker([&] {
    if (::setns(ns.fd(), CLONE_NEWNET) != 0) {
      result.emplace(sys_error("enter netns", ns.label(), errno));
      return;
    }
    result.emplace(fn());
  });
  worker.join();
  return std::move(*result);
}

}  // namespace shoal::dataplane
