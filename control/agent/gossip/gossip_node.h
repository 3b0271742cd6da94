// The node's gossip member: a networkdb member (gossip/agent/table_agent.h) on the node's
// advertise address, port 7946, driven on a thread of its own.
//
// Gossip is always encrypted, with the keys the manager sends in the assignments
// (gossip/keys/gossip_keys.h). They are kept in a 0600 file so that a restarted node rejoins
// before its manager answers; a node that never had them starts with a random key of its own,
// which talks to nobody until the manager's keys arrive.
//
// Rows reach the watchers only once they pass control/agent/rows/row_trust.h against the manager's
// view of the swarm; a row that does not pass reaches them as a delete, so whatever an earlier,
// trusted version of it set up goes. When the view changes, every row is delivered again.
//
// NetworkDb is single-threaded; every call here is posted to that thread, and watchers run on
// it. Writes are fire-and-forget: they cannot fail for any reason a caller could act on (the
// network is joined first), and a failure is logged.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/agent/gossip/table_member.h"
#include "control/agent/rows/row_trust.h"
#include "gossip/agent/table_agent.h"

namespace shoal::agent {

// The keys a node kept in its keys file (raw bytes, the first sealing); bounded and checked.
Result<std::vector<std::string>> read_kept_keys(const std::string& path);

class GossipNode final : public TableMember {
 public:
  // `keys_file`: where the manager's keys are kept between starts.
  static Result<std::unique_ptr<GossipNode>> start(std::string name, gossip::NodeAddress bind,
                                                   std::string keys_file);
  ~GossipNode() override;  // leaves gracefully (bounded), then stops

  // Installs exactly these keys (the first seals) and keeps them in the keys file; the same keys
  // again change nothing.
  void set_keys(const std::vector<std::string>& keys);
  // What the manager says of the swarm, which rows are checked against.
  void set_view(agent::SwarmView view);
  // Joins the members among `peers` that are not alive members already.
  void join(const std::vector<gossip::NodeAddress>& peers);
  void set_networks(const std::set<std::string>& networks) override;
  void put(std::string table, std::string network, std::string key, gossip::Bytes value) override;
  void erase(std::string table, std::string network, std::string key) override;
  void watch(std::string table, Watcher watcher) override;

  struct Key {
   private:
    friend class GossipNode;
    Key() = default;
  };
  explicit GossipNode(Key) {}

 private:
  template <typename F>
  void post(F&& fn);
  // On the io thread: to `watcher` if trusted, else as a delete.
  void deliver(const Watcher& watcher, gossip::networkdb::WatchEvent event);
  void redeliver();  // every visible row of every watched table, after a view change

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<gossip::TableAgent> agent_;
  std::string name_;
  std::set<std::string> networks_;                            // io thread only
  agent::SwarmView view_;                                     // io thread only
  std::multimap<std::string, Watcher> watchers_;              // io thread only: table -> watcher
  std::chrono::steady_clock::time_point last_refusal_log_{};  // io thread only
  uint64_t refusals_unlogged_ = 0;                            // io thread only
  std::string keys_file_;
  std::mutex keys_mutex_;
  std::vector<std::string> keys_;  // the manager's, as last installed
  std::thread thread_;
};

}  // namespace shoal::agent
