// The node's gossip member: a networkdb member (gossip/agent/table_agent.h) on the node's
// advertise address, port 7946, driven on a thread of its own.
//
// NetworkDb is single-threaded; every call here is posted to that thread, and watchers run on
// it. Writes are fire-and-forget: they cannot fail for any reason a caller could act on (the
// network is joined first), and a failure is logged.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gossip/agent/table_agent.h"

namespace shoal::daemon {

class GossipNode {
 public:
  using Watcher = std::function<void(const gossip::networkdb::WatchEvent&)>;

  static Result<std::unique_ptr<GossipNode>> start(std::string name, gossip::NodeAddress bind);
  ~GossipNode();  // leaves gracefully (bounded), then stops

  // Joins the members among `peers` that are not alive members already.
  void join(const std::vector<gossip::NodeAddress>& peers);
  // Takes part in exactly these networks (joins the new ones, leaves the others).
  void set_networks(const std::set<std::string>& networks);
  void put(std::string table, std::string network, std::string key, gossip::Bytes value);
  void erase(std::string table, std::string network, std::string key);
  void watch(std::string table, Watcher watcher);

  struct Key {
   private:
    friend class GossipNode;
    Key() = default;
  };
  explicit GossipNode(Key) {}

 private:
  template <typename F>
  void post(F&& fn);

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<gossip::TableAgent> agent_;
  std::set<std::string> networks_;  // io thread only
  std::thread thread_;
};

}  // namespace shoal::daemon
