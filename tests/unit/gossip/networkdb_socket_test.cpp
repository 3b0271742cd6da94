// Replicated tables over real UDP/TCP sockets on 127.0.61.0/24, encrypted like swarm's gossip
// (AES-128, no delegate versions, as networkdb): several members in one process share an
// io_context, so every wait is a bounded run of the event loop.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "gossip/membership/memberlist.h"
#include "gossip/net/asio_clock.h"
#include "gossip/net/asio_transport.h"
#include "gossip/networkdb/network_db.h"

namespace shoal::gossip::networkdb {
namespace {

using namespace std::chrono_literals;

struct SocketNode {
  explicit SocketNode(boost::asio::io_context& io) : clock(io) {}
  ~SocketNode() { stop(); }
  void stop() {
    if (list)
      list->shutdown();
    if (db)
      db->stop();
    if (transport)
      transport->close();
  }
  AsioClock clock;  // declared first: outlives everything that schedules on it
  std::unique_ptr<AsioTransport> transport;
  std::unique_ptr<NetworkDb> db;
  std::shared_ptr<Memberlist> list;
  NodeAddress addr;
};

class NetworkDbSockets : public ::testing::Test {
 protected:
  NetworkDbSockets() { spdlog::set_level(spdlog::level::warn); }

  SocketNode& add(const std::string& name, int host) {
    auto node = std::make_unique<SocketNode>(io);
    node->addr = NodeAddress{Ipv4((127u << 24) | (61u << 8) | static_cast<uint32_t>(host)), 7946};
    Config config = Config::local(name, node->addr);
    config.security.keyring = &ring;
    NetworkDbConfig db_config;
    db_config.sync_interval = 3s;
    auto transport = AsioTransport::bind(io, node->addr, config.security);
    EXPECT_TRUE(transport.ok()) << transport.error().message();
    node->transport = std::move(*transport);
    node->db = std::make_unique<NetworkDb>(name, node->clock, db_config);
    node->list = *Memberlist::create(config, {}, node->clock, *node->transport, node->db.get());
    node->transport->set_handler(node->list.get());
    node->db->attach(node->list);
    node->list->start();
    if (!nodes.empty()) {
      bool joined = false;
      node->list->join({nodes.front()->addr}, [&](size_t n, auto) { joined = n == 1; });
      EXPECT_TRUE(run_until([&] { return joined; }, 5s)) << name << " could not join";
    }
    nodes.push_back(std::move(node));
    return *nodes.back();
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      io.run_for(50ms);
    }
    return true;
  }

  boost::asio::io_context io;
  Keyring ring = *Keyring::create({Bytes(16, 0x5a)});
  std::vector<std::unique_ptr<SocketNode>> nodes;
};

TEST_F(NetworkDbSockets, EntriesReachEveryMemberOfTheirNetworkAndOnlyThem) {
  for (int i = 0; i < 5; ++i)
    add("node-" + std::to_string(i), i + 1);
  ASSERT_TRUE(run_until(
      [&] {
        for (auto& n : nodes) {
          if (n->list->num_alive() != 5)
            return false;
        }
        return true;
      },
      10s));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(nodes[i]->db->join_network("net-1").ok());
  for (int i = 3; i < 5; ++i)
    ASSERT_TRUE(nodes[i]->db->join_network("net-2").ok());
  ASSERT_TRUE(run_until([&] { return nodes[0]->db->store().peers("net-1").size() == 2; }, 5s));
  for (int i = 0; i < 5; ++i) {
    const std::string net = i < 3 ? "net-1" : "net-2";
    ASSERT_TRUE(nodes[i]
                    ->db
                    ->create_entry("overlay_peer_table", net, "ep-" + std::to_string(i),
                                   Bytes{static_cast<uint8_t>(i)})
                    .ok());
  }
  auto table_size = [&](int i, const std::string& net) {
    return nodes[i]->db->store().entries("overlay_peer_table", net).size();
  };
  EXPECT_TRUE(run_until(
      [&] {
        return table_size(0, "net-1") == 3 && table_size(1, "net-1") == 3 &&
               table_size(2, "net-1") == 3 && table_size(3, "net-2") == 2 &&
               table_size(4, "net-2") == 2;
      },
      10s));
  // Members outside a network never hold its entries.
  for (int i = 3; i < 5; ++i)
    EXPECT_EQ(table_size(i, "net-1"), 0u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(table_size(i, "net-2"), 0u);

  // A member that dies: its entries disappear from the others' view once it is declared dead.
  nodes[2]->stop();
  EXPECT_TRUE(
      run_until([&] { return table_size(0, "net-1") == 2 && table_size(1, "net-1") == 2; }, 30s));
  EXPECT_FALSE(nodes[0]->db->store().entries("overlay_peer_table", "net-1").count("ep-2"));
}

TEST_F(NetworkDbSockets, LargeBulkSyncCrossesManyTcpReads) {
  SocketNode& a = add("node-a", 11);
  ASSERT_TRUE(a.db->join_network("net-1").ok());
  constexpr int kEntries = 3000;
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(
        a.db->create_entry("endpoint_table", "net-1", "ep-" + std::to_string(i), Bytes(500, 'x'))
            .ok());
  }
  SocketNode& b = add("node-b", 12);
  ASSERT_TRUE(run_until([&] { return b.list->num_alive() == 2; }, 5s));
  // b learnt a's attachment to net-1 from the push/pull of its join.
  ASSERT_TRUE(run_until([&] { return b.db->store().peers("net-1").size() == 1; }, 5s));
  // b's join triggers an unsolicited bulk sync; a answers with all its entries: ~1.6 MB on one
  // encrypted TCP stream, read in many chunks.
  ASSERT_TRUE(b.db->join_network("net-1").ok());
  EXPECT_TRUE(run_until(
      [&] { return b.db->store().entries("endpoint_table", "net-1").size() == kEntries; }, 15s))
      << b.db->store().entries("endpoint_table", "net-1").size();
}

}  // namespace
}  // namespace shoal::gossip::networkdb
