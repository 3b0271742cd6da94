// The service plane on the real kernel: three simulated hosts of a cluster, each with a gossip
// member (networkdb) on its address:7946 and a ServicePlane, and a fourth host outside as a client.
// Overlays "app" and "ingress" as the executor would make them; the service "web" has a task on
// hosts 1 and 2 (on both networks, published on 8080 -> 80), the service "cli" (dnsrr) a task on
// host 3 (app only). Nothing programs the balancers or the DNS but the gossiped endpoint table.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "common/mounts.h"
#include "control/agent/gossip/gossip_node.h"
#include "control/agent/plane/service_plane.h"
#include "dataplane/libnl_kernel.h"
#include "dataplane/netns.h"
#include "dataplane/overlay.h"
#include "tests/support/assertions.h"
#include "tests/support/private_mounts.h"
#include "tests/support/testbed.h"
#include "tests/support/traffic.h"

namespace shoal::agent {
namespace {

using namespace std::chrono_literals;
using dataplane::EndpointSpec;
using dataplane::Netns;
using dataplane::PeerSpec;
using testing::ip;
using testing::NamedServer;
using testing::tally;
using testing::Testbed;

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

constexpr int kClusterHosts = 3;
constexpr int kClient = 4;
constexpr uint16_t kGossipPort = 7946;
constexpr auto kConverge = 30s;  // rows from a fresh cluster's gossip
constexpr auto kWithdraw = 10s;  // a stopped task out of every host's rotation

Ipv4 node_ingress_ip(int h) {
  return Ipv4(ip("10.0.0.100").host_order() + static_cast<uint32_t>(h));
}

struct Task {
  const char* id;
  const char* service;
  int host;
  const char* app_ip;
  const char* ingress_ip;  // nullptr: not on the ingress network
};
const Task kTasks[] = {{"w1", "web", 1, "10.0.1.11", "10.0.0.11"},
                       {"w2", "web", 2, "10.0.1.12", "10.0.0.12"},
                       {"c3", "cli", 3, "10.0.1.13", nullptr}};
const char* const kWebVip = "10.0.1.2";
const char* const kWebIngressVip = "10.0.0.2";

struct Host {
  std::unique_ptr<dataplane::LibnlKernel> kernel;
  std::unique_ptr<dataplane::Overlay> overlay;
  std::unique_ptr<GossipNode> gossip;
  std::unique_ptr<ServicePlane> plane;
};

class ServicePlaneNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    auto bed = Testbed::create(4);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    auto cgroup2 = ensure_cgroup2();
    ASSERT_TRUE(cgroup2.ok());
    auto bpffs = ensure_bpffs();
    ASSERT_TRUE(bpffs.ok());
    cgroup2_ = *cgroup2;
    bpffs_ = *bpffs;
    hosts_.resize(kClusterHosts);
    dataplane::NetworkSpec app{"app", 4097, *Ipv4Prefix::parse("10.0.1.0/24"), ip("10.0.1.1"),
                               std::nullopt};
    dataplane::NetworkSpec ingress{"ingress", 4096, *Ipv4Prefix::parse("10.0.0.0/24"),
                                   ip("10.0.0.1"), std::nullopt};
    ingress.gateway_on_bridge = false;
    for (int h = 1; h <= kClusterHosts; ++h) {
      Host& a = host(h);
      auto node = Netns::open_named(bed_->host_ns(h));
      ASSERT_TRUE(node.ok());
      auto kernel = dataplane::LibnlKernel::create(std::move(*node));
      ASSERT_TRUE(kernel.ok());
      a.kernel = std::move(*kernel);
      auto overlay = dataplane::Overlay::create({bed_->node_tag(h), bed_->host_ip(h), std::nullopt},
                                                *a.kernel);
      ASSERT_TRUE(overlay.ok());
      a.overlay = std::make_unique<dataplane::Overlay>(std::move(*overlay));
      ASSERT_OK(a.overlay->ensure(app));
      ASSERT_OK(a.overlay->ensure(ingress));
      EndpointSpec own;  // the node's endpoint on the ingress network, holding the gateway
      own.network_id = "ingress";
      own.id = "node";
      own.netns = bed_->host_ns(h);
      own.ifname = "ingress0";
      own.ip = node_ingress_ip(h);
      own.default_route = false;
      own.holds_gateway = true;
      ASSERT_OK(a.overlay->attach(own));
    }
    for (const Task& t : kTasks) {
      EndpointSpec on_app;
      on_app.network_id = "app";
      on_app.id = std::string(t.id) + "a";
      on_app.ip = ip(t.app_ip);
      ASSERT_OK(host(t.host).overlay->attach(on_app));
      if (t.ingress_ip != nullptr) {
        EndpointSpec on_ingress;
        on_ingress.network_id = "ingress";
        on_ingress.id = std::string(t.id) + "i";
        on_ingress.netns = task_ns(t);
        on_ingress.ifname = "eth1";
        on_ingress.ip = ip(t.ingress_ip);
        on_ingress.default_route = false;
        ASSERT_OK(host(t.host).overlay->attach(on_ingress));
        auto server = NamedServer::start(task_ns(t), Ipv4(), 80, t.id);
        ASSERT_TRUE(server.ok()) << server.error().message();
        servers_[t.id] = std::move(*server);
      }
    }
    // Overlay peers (the executor's part, from the overlay peer table).
    for (int h = 1; h <= kClusterHosts; ++h) {
      for (int other = 1; other <= kClusterHosts; ++other)
        ASSERT_OK(host(h).overlay->add_peer(peer("ingress", node_ingress_ip(other), other)));
      for (const Task& t : kTasks) {
        ASSERT_OK(host(h).overlay->add_peer(peer("app", ip(t.app_ip), t.host)));
        if (t.ingress_ip != nullptr)
          ASSERT_OK(host(h).overlay->add_peer(peer("ingress", ip(t.ingress_ip), t.host)));
      }
    }
    // One gossip member per host, bound in the host's namespace, with the swarm's key and the
    // manager's view of the nodes and networks (what the assignments carry in shoald).
    char keys[] = "/tmp/shoal-sp-keys-XXXXXX";
    ASSERT_NE(::mkdtemp(keys), nullptr);
    keys_dir_ = keys;
    agent::SwarmView view;
    view.subnets = {{"app", app.subnet}, {"ingress", ingress.subnet}};
    for (int h = 1; h <= kClusterHosts; ++h) {
      view.nodes.emplace(member(h), bed_->host_ip(h));
      view.addresses["ingress"][node_ingress_ip(h)] = {.node = member(h)};
    }
    for (const Task& t : kTasks) {
      const bool web = std::string(t.service) == "web";
      agent::AddressHolder holder{.node = member(t.host),
                                  .task = t.id,
                                  .service_id = std::string("svc-") + t.service,
                                  .service_name = t.service};
      if (web)
        holder.vip = ip(kWebVip);
      view.addresses["app"][ip(t.app_ip)] = holder;
      if (t.ingress_ip != nullptr) {
        holder.vip = ip(kWebIngressVip);
        view.addresses["ingress"][ip(t.ingress_ip)] = holder;
      }
    }
    for (int h = 1; h <= kClusterHosts; ++h) {
      auto node = Netns::open_named(bed_->host_ns(h));
      ASSERT_TRUE(node.ok());
      auto gossip = dataplane::run_in_netns(*node, [&] {
        return GossipNode::start(member(h), {bed_->host_ip(h), kGossipPort},
                                 keys_dir_ + "/" + member(h) + ".json");
      });
      ASSERT_TRUE(gossip.ok()) << gossip.error().message();
      host(h).gossip = std::move(*gossip);
      host(h).gossip->set_keys({std::string(16, 'k')});
      host(h).gossip->set_view(view);
    }
    // The planes watch the table before any network is joined.
    for (int h = 1; h <= kClusterHosts; ++h) {
      ServicePlaneConfig config;
      config.node_tag = bed_->node_tag(h);
      config.node_ip = bed_->host_ip(h);
      config.node_netns = bed_->host_ns(h);
      config.node_name = member(h);
      auto plane = ServicePlane::start(config, *host(h).gossip);
      ASSERT_TRUE(plane.ok()) << plane.error().message();
      host(h).plane = std::move(*plane);
      ASSERT_OK(host(h).plane->enable_mesh("ingress", node_ingress_ip(h)));
      // Every node takes part in the ingress network; the executor's call.
      host(h).gossip->set_networks({"app", "ingress"});
    }
    for (int h = 2; h <= kClusterHosts; ++h)
      host(h).gossip->join({{bed_->host_ip(1), kGossipPort}});
    for (const Task& t : kTasks)
      ASSERT_OK(host(t.host).plane->task_running(service_of(t)));
    // Where the probe runs as a task would: a task cgroup under host 3's node cgroup.
    const std::string probe = node_cgroup(3) + "/probe";
    ASSERT_EQ(::mkdir(probe.c_str(), 0755), 0) << probe;
    probe_cgroup_ = probe;
  }

  void TearDown() override {
    if (!keys_dir_.empty())
      std::filesystem::remove_all(keys_dir_);
    if (!probe_cgroup_.empty()) {
      EXPECT_EQ(::rmdir(probe_cgroup_.c_str()), 0) << probe_cgroup_;
    }
    for (int h = 1; h <= static_cast<int>(hosts_.size()); ++h) {
      Host& a = host(h);
      if (a.plane) {
        auto done = a.plane->uninstall();
        EXPECT_TRUE(done.ok()) << done.error().message();
        auto filters = testing::run_in_ns(
            bed_->host_ns(h), {"tc", "filter", "show", "dev", bed_->host_uplink(h), "ingress"});
        ASSERT_TRUE(filters.ok());
        EXPECT_EQ(filters->output.find("bpf"), std::string::npos) << "a tc filter stayed behind";
      }
      a.plane.reset();
      // Whatever a failed start left behind goes too; then nothing may be there.
      std::error_code ec;
      const std::string pins = bpffs_ + "/shoal/" + bed_->node_tag(h);
      EXPECT_FALSE(std::filesystem::exists(pins)) << "pins left behind: " << pins;
      std::filesystem::remove_all(pins, ec);
      EXPECT_FALSE(std::filesystem::exists(node_cgroup(h))) << "cgroup left behind";
      ::rmdir(node_cgroup(h).c_str());
    }
    for (Host& a : hosts_)
      a.gossip.reset();
    hosts_.clear();
    servers_.clear();
    bed_.reset();
  }

  Host& host(int h) { return hosts_.at(h - 1); }
  static std::string member(int h) { return "node-" + std::to_string(h); }
  std::string keys_dir_;
  std::string node_cgroup(int h) const { return cgroup2_ + "/shoal/" + bed_->node_tag(h); }
  std::string task_ns(const Task& t) const {
    return dataplane::endpoint_netns(bed_->node_tag(t.host), std::string(t.id) + "a");
  }

  PeerSpec peer(const char* network, Ipv4 address, int h) const {
    return PeerSpec{network, address, Mac::from_ipv4(address), bed_->host_ip(h)};
  }

  TaskService service_of(const Task& t) const {
    TaskService task;
    task.task_id = t.id;
    task.service_id = std::string("svc-") + t.service;
    task.service_name = t.service;
    task.task_name = std::string(t.service) + ".1." + t.id;
    task.netns = task_ns(t);
    if (std::string(t.service) == "web") {
      task.endpoints = {{"app", ip(t.app_ip), ip(kWebVip), {}},
                        {"ingress", ip(t.ingress_ip), ip(kWebIngressVip), {}}};
      task.ports = {{8080, 80, lb::Protocol::kTcp, agent::PublishMode::kIngress, false}};
    } else {
      task.endpoints = {{"app", ip(t.app_ip), std::nullopt, {}}};
      task.dnsrr = true;
    }
    return task;
  }

  // Connections to the web VIP from host 3's task, as that task would make them.
  std::vector<std::string> via_vip(int n) {
    const std::string command = "echo $$ > " + probe_cgroup_ +
                                "/cgroup.procs && exec ip netns exec " + task_ns(kTasks[2]) + " " +
                                testing::build_path("tests/support/shoal-lb-probe") + " tcp " +
                                kWebVip + " 80 " + std::to_string(n);
    return testing::output_lines(testing::run_command({"sh", "-c", command}, 60000));
  }

  // Connections from the client outside the cluster to host h's published port.
  std::vector<std::string> via_mesh(int h, int n) {
    return testing::output_lines(
        testing::run_in_ns(bed_->host_ns(kClient),
                           {testing::build_path("tests/support/shoal-lb-probe"), "tcp",
                            bed_->host_ip(h).str(), "8080", std::to_string(n)},
                           60000));
  }

  // dig @127.0.0.11 from inside ns: the A records, sorted.
  std::vector<std::string> resolve(const std::string& ns, const std::string& name) {
    auto ran = testing::run_in_ns(
        ns, {"dig", "@127.0.0.11", "+time=2", "+tries=1", "+short", name, "A"}, 8000);
    std::vector<std::string> lines = testing::output_lines(ran);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  static bool serves_exactly(const std::vector<std::string>& lines,
                             const std::vector<std::string>& names, size_t n) {
    auto counts = tally(lines);
    size_t total = 0;
    for (const std::string& name : names) {
      if (counts[name] == 0)
        return false;
      total += static_cast<size_t>(counts[name]);
    }
    return total == n && lines.size() == n;
  }

  template <typename F>
  static bool eventually(std::chrono::milliseconds limit, F&& ready) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(200ms);
    }
    return true;
  }

  // Waits until the web service answers from both tasks through the VIP and on every host.
  void converge() {
    EXPECT_TRUE(eventually(kConverge, [&] {
      return serves_exactly(via_vip(12), {"w1", "w2"}, 12);
    })) << ::testing::PrintToString(tally(via_vip(12)));
    for (int h = 1; h <= kClusterHosts; ++h) {
      EXPECT_TRUE(eventually(kConverge,
                             [&] {
                               return serves_exactly(via_mesh(h, 12), {"w1", "w2"}, 12);
                             }))
          << "host " << h << ": " << ::testing::PrintToString(tally(via_mesh(h, 12)));
    }
  }

  std::unique_ptr<Testbed> bed_;
  std::string cgroup2_, bpffs_, probe_cgroup_;
  std::vector<Host> hosts_;
  std::map<std::string, std::unique_ptr<NamedServer>> servers_;
};

TEST_F(ServicePlaneNetns, AVipReachesTheTasksOfItsServiceAcrossHosts) {
  converge();
  auto counts = tally(via_vip(40));
  EXPECT_EQ(counts["w1"] + counts["w2"], 40) << ::testing::PrintToString(counts);
  EXPECT_GT(counts["w1"], 0);
  EXPECT_GT(counts["w2"], 0);
}

TEST_F(ServicePlaneNetns, NamesResolveAtTheEmbeddedDnsInsideATask) {
  const std::string ns = task_ns(kTasks[2]);
  EXPECT_TRUE(eventually(kConverge, [&] {
    return resolve(ns, "tasks.web") == std::vector<std::string>{"10.0.1.11", "10.0.1.12"};
  })) << ::testing::PrintToString(resolve(ns, "tasks.web"));
  EXPECT_EQ(resolve(ns, "web"), std::vector<std::string>{kWebVip});
  EXPECT_EQ(resolve(ns, "cli"), std::vector<std::string>{"10.0.1.13"});  // dnsrr: the tasks
  EXPECT_EQ(resolve(ns, "tasks.cli"), std::vector<std::string>{"10.0.1.13"});
  // A web task resolves too, but not through the ingress network: the app VIP only.
  EXPECT_EQ(resolve(task_ns(kTasks[0]), "web"), std::vector<std::string>{kWebVip});
  EXPECT_TRUE(resolve(ns, "nosuchservice").empty());
}

TEST_F(ServicePlaneNetns, APublishedPortAnswersOnEveryHostFromOutside) {
  converge();
  for (int h = 1; h <= kClusterHosts; ++h) {  // host 3 has no web task
    auto counts = tally(via_mesh(h, 30));
    EXPECT_EQ(counts["w1"] + counts["w2"], 30)
        << "host " << h << ": " << ::testing::PrintToString(counts);
    EXPECT_GT(counts["w1"], 0) << "host " << h;
    EXPECT_GT(counts["w2"], 0) << "host " << h;
  }
}

TEST_F(ServicePlaneNetns, AStoppingTaskLeavesEveryHostsRotationWithinTheBound) {
  converge();
  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_OK(host(2).plane->task_stopping("w2"));
  // Its own node: out of rotation when task_stopping returns, before any signal.
  EXPECT_EQ(tally(via_mesh(2, 20))["w1"], 20);
  for (int h = 1; h <= kClusterHosts; ++h) {
    EXPECT_TRUE(eventually(kWithdraw, [&] { return serves_exactly(via_mesh(h, 10), {"w1"}, 10); }))
        << "host " << h << ": " << ::testing::PrintToString(tally(via_mesh(h, 10)));
  }
  EXPECT_TRUE(eventually(kWithdraw, [&] { return serves_exactly(via_vip(10), {"w1"}, 10); }));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - stopped_at);
  std::cout << "w2 out of every host's rotation after " << took.count() << " ms\n";
  EXPECT_TRUE(eventually(kWithdraw, [&] {
    return resolve(task_ns(kTasks[2]), "tasks.web") == std::vector<std::string>{"10.0.1.11"};
  }));
  // Running again (as after a restart of the agent): back everywhere.
  ASSERT_OK(host(2).plane->task_running(service_of(kTasks[1])));
  converge();
}

TEST_F(ServicePlaneNetns, AStartingTaskResolvesNamesBeforeItTakesTraffic) {
  converge();
  ASSERT_OK(host(2).plane->task_stopping("w2"));
  ASSERT_OK(host(2).plane->task_starting(service_of(kTasks[1])));
  // Its DNS listener answers at once (a process's first lookup comes before it is RUNNING)...
  EXPECT_EQ(resolve(task_ns(kTasks[1]), "web"), std::vector<std::string>{kWebVip});
  // ...while no host sends it a request.
  for (int h = 1; h <= kClusterHosts; ++h) {
    EXPECT_TRUE(eventually(kWithdraw, [&] { return serves_exactly(via_mesh(h, 10), {"w1"}, 10); }))
        << "host " << h << ": " << ::testing::PrintToString(tally(via_mesh(h, 10)));
  }
  ASSERT_OK(host(2).plane->task_running(service_of(kTasks[1])));
  converge();
}

// Security review, repro A4's sequel: a member with the gossip key (host 3) publishes rows that
// make it a backend of web, with its own cli task's address and with an address the manager
// gave to nobody. The other hosts believe neither: the manager's view (Assignments.addresses)
// says who holds each address, for which task and service.
TEST_F(ServicePlaneNetns, AMemberCannotMakeItselfABackendOfAnotherService) {
  converge();
  // For two seconds after each claim, hosts 1 and 2 (their web tasks' DNS) see web's own two
  // tasks only; gossip brings a row within a second here. Host 3 believes itself: the attacker.
  const std::vector<std::string> web_tasks{"10.0.1.11", "10.0.1.12"};
  auto others_see_only_web = [&] {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < until) {
      for (int t : {0, 1}) {
        ASSERT_EQ(resolve(task_ns(kTasks[t]), "tasks.web"), web_tasks)
            << "host " << kTasks[t].host << " believes host 3's claim";
      }
      std::this_thread::sleep_for(300ms);
    }
  };
  TaskService rogue = service_of(kTasks[0]);  // web's shape: its VIP, service id and name
  rogue.task_id = "c3";                       // host 3's cli task, claimed for web ...
  rogue.task_name = "web.9.c3";
  rogue.netns = task_ns(kTasks[2]);
  rogue.ports.clear();
  rogue.endpoints = {{"app", ip("10.0.1.13"), ip(kWebVip), {}}};  // ... at its own address
  ASSERT_OK(host(3).plane->task_running(rogue));
  others_see_only_web();
  rogue.endpoints = {{"app", ip("10.0.1.99"), ip(kWebVip), {}}};  // at one given to nobody
  ASSERT_OK(host(3).plane->task_running(rogue));
  others_see_only_web();
  ASSERT_OK(host(3).plane->task_running(service_of(kTasks[2])));
}

}  // namespace
}  // namespace shoal::agent
