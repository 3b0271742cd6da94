// Leader election among the managers, on an etcd lease and a transaction.
//
// Each candidate holds a lease (ttl) kept alive by this thread, and every `poll` tries
//   if the leadership key does not exist: create it with my id, attached to my lease
//   else: read it
// in one transaction. Whoever created the key leads until its lease ends: revoked on resign()
// (a planned handover takes one poll), or expired when the leader stops renewing it (its host
// died or was cut off: ttl plus one poll). The create revision of the key is the leadership's
// fence (etcd_store.h): a former leader that did not notice it lost cannot write.
//
// A leader that cannot renew its lease for `ttl` steps down by itself, before etcd could have
// let anybody else win: at most one node believes it leads at any time, give or take the clock
// rates of two hosts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "control/etcd/client.h"
#include "control/etcd/etcd_store.h"

namespace shoal::etcd {

struct ElectionConfig {
  std::string key{};        // the leadership key
  std::string candidate{};  // this manager's node id
  std::string address{};    // where it serves (IP:PORT), published beside the id; may be empty
  std::chrono::seconds ttl{3};
  std::chrono::milliseconds poll{200};
};

struct LeaderView {
  std::string leader{};   // node id; empty: unknown (no quorum, or nobody leads yet)
  std::string address{};  // the leader's ElectionConfig::address
  bool self = false;
  Fence fence{};  // valid when self

  bool operator==(const LeaderView&) const = default;
};

class Election {
 public:
  // Called whenever the view changes, on the election's thread (or resign()'s caller, with an
  // empty view); it must not call back into the election.
  using Observer = std::function<void(const LeaderView&)>;

  static std::unique_ptr<Election> start(Client& client, ElectionConfig config, Observer observer);
  ~Election();  // resign()
  Election(const Election&) = delete;
  Election& operator=(const Election&) = delete;

  LeaderView view() const;
  // Stops campaigning and revokes the lease, so another manager leads within one poll.
  void resign();

 private:
  Election(Client& client, ElectionConfig config, Observer observer)
      : client_(&client), config_(std::move(config)), observer_(std::move(observer)) {}
  void run();
  void step();
  void renew_lease();
  std::chrono::milliseconds call_budget() const;
  void publish(LeaderView view);
  std::string key_value() const;

  Client* client_;
  ElectionConfig config_;
  Observer observer_;

  // Touched by the election thread only.
  int64_t lease_ = 0;
  std::chrono::steady_clock::time_point lease_valid_until_{};
  std::chrono::steady_clock::time_point renewed_until_{};  // by the last keep-alive, unconfirmed
  std::chrono::steady_clock::time_point next_renewal_{};

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  LeaderView view_;
  std::thread thread_;
};

}  // namespace shoal::etcd
