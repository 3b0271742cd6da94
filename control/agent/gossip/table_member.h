// The replicated tables as the executor uses them (GossipNode implements it; the executor's unit
// tests give a fake): the networks this node takes part in, its rows, and watching a table.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "gossip/memberlist/bytes.h"
#include "gossip/networkdb/table_store.h"

namespace shoal::agent {

class TableMember {
 public:
  using Watcher = std::function<void(const gossip::networkdb::WatchEvent&)>;

  virtual ~TableMember() = default;
  // Takes part in exactly these networks (joins the new ones, leaves the others).
  virtual void set_networks(const std::set<std::string>& networks) = 0;
  virtual void put(std::string table, std::string network, std::string key,
                   gossip::Bytes value) = 0;
  virtual void erase(std::string table, std::string network, std::string key) = 0;
  // Every event of `table`, on the member's thread.
  virtual void watch(std::string table, Watcher watcher) = 0;
};

}  // namespace shoal::agent
