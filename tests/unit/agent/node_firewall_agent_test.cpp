// The agent's side of the node firewall and the manager port's default address: what the
// manager sends as the swarm's nodes, how the agent turns it into the firewall's set, and where
// the manager port listens unless told otherwise.
#include <gmock/gmock.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <thread>

#include "control/agent/session/overlay_sources.h"
#include "control/manager/dispatcher/assignments.h"
#include "control/manager/leadership/listen_addr.h"
#include "control/manager/store/memory_store.h"
#include "tests/support/assertions.h"

namespace shoal::agent {
namespace {

using testing::ip;

// What the firewall was last given, and how often.
class FakeSources final : public dataplane::firewall::OverlaySources {
 public:
  Status set_overlay_sources(const std::set<Ipv4>& nodes) override {
    ++calls;
    if (fail)
      return sys_error("apply nftables script", "in this netns", 0, "No such file or directory");
    last = nodes;
    return {};
  }
  std::set<Ipv4> last;
  int calls = 0;
  bool fail = false;
};

TEST(NodeFirewallAgent, EveryNodeOfTheStoreIsSentDownOnesIncluded) {
  manager::MemoryStore store;
  ASSERT_OK(store.update([](manager::WriteTx& tx) -> Status {
    const std::tuple<const char*, const char*, manager::NodeStatus> nodes[] = {
        {"n1", "198.51.100.11", manager::NodeStatus::kReady},
        {"n2", "198.51.100.12", manager::NodeStatus::kReady},
        {"n3", "198.51.100.13", manager::NodeStatus::kDown}};
    for (auto [id, addr, status] : nodes) {
      manager::Node node;
      node.id = id;
      node.hostname = id;
      node.addr = ip(addr);
      node.status = status;
      SHOAL_TRY(tx.create(node));
    }
    return {};
  }));
  api::Assignments sent;
  store.view([&](const manager::ReadTx& tx) { sent = node_assignments(tx, "n1", 7946); });
  std::vector<std::string> addrs;
  for (const auto& node : sent.nodes())
    addrs.push_back(node.addr());
  EXPECT_THAT(addrs,
              ::testing::UnorderedElementsAre("198.51.100.11", "198.51.100.12", "198.51.100.13"));
  // Gossip joins only the other Ready nodes; the firewall takes every node.
  EXPECT_THAT(sent.gossip_peers(), ::testing::ElementsAre("198.51.100.12:7946"));
  EXPECT_EQ(overlay_sources(sent),
            (std::set<Ipv4>{ip("198.51.100.11"), ip("198.51.100.12"), ip("198.51.100.13")}));
}

TEST(NodeFirewallAgent, SourcesComeFromNodeAddressesAndGossipPeersAndJunkIsSkipped) {
  api::Assignments sent;
  sent.add_nodes()->set_addr("198.51.100.11");
  sent.add_nodes()->set_addr("not an address");
  sent.add_gossip_peers("198.51.100.14:7946");  // a manager that predates `nodes`
  sent.add_gossip_peers("198.51.100.15");       // no port: not a peer
  EXPECT_EQ(overlay_sources(sent), (std::set<Ipv4>{ip("198.51.100.11"), ip("198.51.100.14")}));
}

TEST(NodeFirewallAgent, EachAssignmentSetsTheWholeListAndAFailureIsTriedAgain) {
  FakeSources firewall;
  api::Assignments sent;
  sent.add_nodes()->set_addr("198.51.100.11");
  sent.add_nodes()->set_addr("198.51.100.12");
  apply_overlay_sources(firewall, sent);
  EXPECT_EQ(firewall.last, (std::set<Ipv4>{ip("198.51.100.11"), ip("198.51.100.12")}));
  // A node removed from the swarm leaves the set with the next assignment.
  sent.clear_nodes();
  sent.add_nodes()->set_addr("198.51.100.11");
  firewall.fail = true;
  apply_overlay_sources(firewall, sent);  // logged, not thrown
  firewall.fail = false;
  apply_overlay_sources(firewall, sent);
  EXPECT_EQ(firewall.calls, 3);
  EXPECT_EQ(firewall.last, (std::set<Ipv4>{ip("198.51.100.11")}));
}

TEST(ManagerListenAddress, DefaultsToTheAdvertiseAddressNotEveryAddress) {
  EXPECT_EQ(manager::choose_listen_addr("", "", "198.51.100.11"), "198.51.100.11:2377");
  EXPECT_EQ(manager::choose_listen_addr("", "0.0.0.0:2377", "198.51.100.11"), "0.0.0.0:2377");
  EXPECT_EQ(manager::choose_listen_addr("198.51.100.11:4000", "0.0.0.0:2377", "198.51.100.11"),
            "198.51.100.11:4000");
}

// Whether something accepts TCP connections on [::1]:port.
bool ipv6_loopback_accepts(uint16_t port) {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_loopback;
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// Runs fn on a thread of its own in a new network namespace with its loopback up, so that the
// test's wildcard listener is on no address of the host. False when that cannot be had.
bool in_fresh_netns(const std::function<void()>& fn) {
  bool entered = false;
  std::thread worker([&] {
    if (::unshare(CLONE_NEWNET) != 0)
      return;
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq lo{};
    std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(fd.get(), SIOCGIFFLAGS, &lo) != 0)
      return;
    lo.ifr_flags = static_cast<int16_t>(lo.ifr_flags | IFF_UP);
    if (::ioctl(fd.get(), SIOCSIFFLAGS, &lo) != 0)
      return;
    entered = true;
    fn();
  });
  worker.join();
  return entered;
}

TEST(ManagerListenAddress, AnExplicitIpv4WildcardIsKeptOffIpv6) {
  EXPECT_FALSE(manager::hold_ipv6_wildcard("198.51.100.11:2377").valid())
      << "only 0.0.0.0 needs it";
  EXPECT_FALSE(manager::hold_ipv6_wildcard("0.0.0.0:0").valid());
  bool checked = false;
  const bool entered = in_fresh_netns([&] {
    const uint16_t port = manager::kManagerPort;
    const std::string listen = "0.0.0.0:" + std::to_string(port);
    // As ManagerNode::serve starts the manager port.
    UniqueFd held = manager::hold_ipv6_wildcard(listen);
    if (!held.valid())
      return;  // no IPv6 in this kernel: nothing to keep off
    grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &bound);
    grpc::AsyncGenericService service;  // a server needs one service
    builder.RegisterAsyncGenericService(&service);
    auto queue = builder.AddCompletionQueue();
    auto server = builder.BuildAndStart();
    held.reset();
    ASSERT_TRUE(server);
    EXPECT_EQ(bound, port);
    EXPECT_FALSE(ipv6_loopback_accepts(port)) << "0.0.0.0 was bound dual-stack ([::])";
    server->Shutdown();
    queue->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue->Next(&tag, &ok)) {
    }
    checked = true;
  });
  if (!entered)
    GTEST_SKIP() << "needs CAP_SYS_ADMIN for a network namespace of its own";
  if (!checked && !HasFailure())
    GTEST_SKIP() << "no IPv6 here";
}

}  // namespace
}  // namespace shoal::agent
