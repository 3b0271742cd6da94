// An in-memory cluster of NetworkDb nodes on a fake clock and an in-memory network, for tests of
// the replicated tables and of anything that rides on them. Nodes join the first one added.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "gossip/membership/memberlist.h"
#include "gossip/networkdb/network_db.h"
#include "gossip/testing/fake_clock.h"
#include "gossip/testing/in_memory_network.h"

namespace shoal::gossip::testing {

struct ClusterNode {
  NodeAddress addr;
  std::unique_ptr<networkdb::NetworkDb> db;
  std::unique_ptr<Transport> transport;
  std::shared_ptr<Memberlist> list;
};

class NetworkDbTestCluster {
 public:
  NetworkDbTestCluster() = default;
  NetworkDbTestCluster(const NetworkDbTestCluster&) = delete;
  NetworkDbTestCluster& operator=(const NetworkDbTestCluster&) = delete;

  // A new node, started and joined to the first one; the clock moves 200 ms.
  ClusterNode& add(const std::string& name);

  FakeClock clock;
  InMemoryNetwork net{clock, 3};
  // For nodes added from now on (the random seed is set per node).
  networkdb::NetworkDbConfig db_config = default_db_config();

 private:
  static networkdb::NetworkDbConfig default_db_config() {
    networkdb::NetworkDbConfig c;
    c.sync_interval = std::chrono::seconds(5);
    return c;
  }
  // Lets the network hold its handler before the memberlist exists.
  struct Proxy : TransportHandler {
    std::weak_ptr<Memberlist> target;
    void on_packet(const NodeAddress& from, ByteView packet) override;
    std::optional<Bytes> on_stream(const NodeAddress& from, ByteView frame) override;
  };
  std::deque<Proxy> proxies_;
  std::vector<std::unique_ptr<ClusterNode>> nodes_;
};

}  // namespace shoal::gossip::testing
