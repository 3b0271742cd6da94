#include "gossip/testing/networkdb_cluster.h"

namespace shoal::gossip::testing {

void NetworkDbTestCluster::Proxy::on_packet(const NodeAddress& from, ByteView packet) {
  if (auto list = target.lock()) {
    list->on_packet(from, packet);
  }
}

std::optional<Bytes> NetworkDbTestCluster::Proxy::on_stream(const NodeAddress& from,
                                                            ByteView frame) {
  auto list = target.lock();
  return list ? list->on_stream(from, frame) : std::nullopt;
}

ClusterNode& NetworkDbTestCluster::add(const std::string& name) {
  auto node = std::make_unique<ClusterNode>();
  node->addr = NodeAddress{Ipv4(0x7f000101 + static_cast<uint32_t>(nodes_.size())), 7946};
  networkdb::NetworkDbConfig config_for_node = db_config;
  config_for_node.random_seed = 77 + nodes_.size();
  node->db = std::make_unique<networkdb::NetworkDb>(name, clock, config_for_node);
  node->transport = net.attach(node->addr, &proxies_.emplace_back());
  Config config = Config::lan(name, node->addr);
  config.random_seed = 500 + nodes_.size();
  config.reconnect_interval = std::chrono::seconds(1);  // networkdb retries failed nodes
  node->list = *Memberlist::create(config, {}, clock, *node->transport, node->db.get());
  proxies_.back().target = node->list;
  node->db->attach(node->list);
  node->list->start();
  if (!nodes_.empty()) {
    node->list->join({nodes_.front()->addr}, [](size_t, auto) {});
  }
  nodes_.push_back(std::move(node));
  clock.advance(std::chrono::milliseconds(200));
  return *nodes_.back();
}

}  // namespace shoal::gossip::testing
