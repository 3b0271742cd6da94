#include "control/agent/plane/service_plane.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <utility>

#include "common/first_error.h"
#include "control/agent/plane/service_balancer.h"
#include "control/agent/rows/endpoint_table.h"
#include "dataplane/dns/dns_server.h"
#include "dataplane/netns.h"

namespace shoal::agent {
namespace {

using Clock = std::chrono::steady_clock;
using dataplane::Netns;
using dataplane::dns::DnsServer;
using gossip::networkdb::WatchEvent;
using gossip::networkdb::WatchEventType;

// The owner this plane gives the rows it applies itself; no member can be called that.
const std::string kSelf = std::string("\x01") + "service-plane";

// The feed's DNS side, on the node's DnsServer.
class DnsServerSink final : public agent::DnsSink {
 public:
  explicit DnsServerSink(DnsServer& server) : server_(&server) {}
  Status upsert_service(dataplane::dns::ServiceRecord record) override {
    return server_->upsert_service(std::move(record));
  }
  void remove_service(const std::string& service_id, const std::string& network_id) override {
    server_->remove_service(service_id, network_id);
  }

 private:
  DnsServer* server_;
};

}  // namespace

std::vector<agent::EndpointRecord> endpoint_rows(const TaskService& task,
                                                 const std::string& ingress_network_id) {
  std::vector<agent::EndpointRecord> rows;
  for (const TaskEndpoint& endpoint : task.endpoints) {
    agent::EndpointRecord row;
    row.service_id = task.service_id;
    row.service_name = task.service_name;
    row.aliases = endpoint.aliases;
    row.network_id = endpoint.network_id;
    if (!task.dnsrr && endpoint.vip) {
      row.vip = endpoint.vip;
      row.mode = dataplane::dns::EndpointMode::kVip;
    } else {
      // The row carries no VIP, which is what a dnsrr row looks like on the wire.
      row.mode = dataplane::dns::EndpointMode::kDnsrr;
    }
    if (!ingress_network_id.empty() && endpoint.network_id == ingress_network_id) {
      row.published = task.ports;
    }
    row.task_id = task.task_id;
    row.task_ip = endpoint.ip;
    row.running = true;
    row.local = true;
    rows.push_back(std::move(row));
  }
  return rows;
}

struct ServicePlane::Core {
  enum class State { kRunning, kUninstalled, kClosed };

  ServicePlaneConfig config;
  GossipNode* gossip = nullptr;
  std::string self;  // the owner of the rows this plane applies itself

  std::mutex mutex;  // everything below
  State state = State::kRunning;
  std::optional<Netns> node_ns;
  std::unique_ptr<ServiceBalancer> balancer;
  bool mesh = false;
  std::string mesh_network;
  Ipv4 mesh_ip;
  std::unique_ptr<DnsServer> dns;
  std::unique_ptr<DnsServerSink> dns_sink;
  std::unique_ptr<agent::ServiceFeed> feed;
  std::unique_ptr<agent::EndpointTableFeed> table;

  struct Local {
    TaskService task;
    std::set<std::string> networks;  // the networks its rows are on
    std::optional<DnsServer::ListenerId> listener;
  };
  std::map<std::string, Local> local;  // by task id
  // Task id -> networks whose rows this plane put and applied itself: the table's echo of them
  // is ignored until the echo of their deletion.
  std::map<std::string, std::set<std::string>> ours;
  // Every row of the table: task id -> network -> owner.
  std::map<std::string, std::map<std::string, std::string>> seen;
  Clock::time_point started = Clock::now();
  bool settled = false;

  Status check_running() const {
    if (state != State::kRunning)
      return invalid_argument("service plane " + config.node_tag, "is uninstalled");
    return {};
  }

  void note(const WatchEvent& event) {
    if (event.type == WatchEventType::kDelete) {
      auto it = seen.find(event.key);
      if (it != seen.end()) {
        it->second.erase(event.network);
        if (it->second.empty())
          seen.erase(it);
      }
    } else {
      seen[event.key][event.network] = event.owner;
    }
  }

  // A row into the feed, as the table would deliver it.
  Status apply(const WatchEvent& event) {
    note(event);
    return table->on_event(event);
  }

  void on_event(const WatchEvent& event) {
    std::lock_guard lock(mutex);
    if (state != State::kRunning)
      return;
    auto mine = ours.find(event.key);
    if (mine != ours.end() && mine->second.contains(event.network)) {
      // The echo of a row applied here already.
      if (event.type == WatchEventType::kDelete) {
        auto owner = local.find(event.key);
        if (owner == local.end() || !owner->second.networks.contains(event.network)) {
          mine->second.erase(event.network);
          if (mine->second.empty())
            ours.erase(mine);
        }
      }
      settle();
      return;
    }
    if (auto applied = apply(event); !applied.ok()) {
      spdlog::warn("service plane: row {} on network {}: {}", event.key, event.network,
                   applied.error().message());
    }
    settle();
  }

  void put_row(const agent::EndpointRecord& row) {
    gossip::Bytes value = agent::encode_endpoint(row);
    ours[row.task_id].insert(row.network_id);
    WatchEvent event{
        WatchEventType::kUpdate, agent::kEndpointTable, row.network_id, row.task_id, value, self};
    if (auto applied = apply(event); !applied.ok()) {
      spdlog::warn("service plane: task {} on network {}: {}", row.task_id, row.network_id,
                   applied.error().message());
    }
    gossip->put(agent::kEndpointTable, row.network_id, row.task_id, std::move(value));
  }

  void erase_row(const std::string& task_id, const std::string& network_id) {
    gossip->erase(agent::kEndpointTable, network_id, task_id);
    WatchEvent event{WatchEventType::kDelete, agent::kEndpointTable, network_id, task_id, {}, {}};
    if (auto applied = apply(event); !applied.ok()) {
      spdlog::warn("service plane: task {} on network {}: {}", task_id, network_id,
                   applied.error().message());
    }
  }

  std::vector<std::string> dns_networks(const TaskService& task) const {
    // The ingress network carries published ports only; no names are served on it.
    std::vector<std::string> networks;
    for (const TaskEndpoint& endpoint : task.endpoints) {
      if (endpoint.network_id != feed->ingress_network())
        networks.push_back(endpoint.network_id);
    }
    return networks;
  }

  // Publishes (or republishes) a local task's rows and converges its DNS listener.
  Status publish(Local& entry) {
    const TaskService& task = entry.task;
    std::set<std::string> networks;
    for (const agent::EndpointRecord& row : endpoint_rows(task, feed->ingress_network())) {
      put_row(row);
      networks.insert(row.network_id);
    }
    for (const std::string& network : entry.networks) {
      if (!networks.contains(network))
        erase_row(task.task_id, network);
    }
    entry.networks = std::move(networks);
    return listen(entry);
  }

  // The task's namespace and networks to the balancer (IPVS puts their VIPs in it).
  Status attach(const TaskService& task) {
    if (task.netns.empty())
      return {};
    std::set<std::string> networks;
    for (const TaskEndpoint& endpoint : task.endpoints)
      networks.insert(endpoint.network_id);
    return balancer->attach_task(task.task_id, task.netns, networks);
  }

  // Starts, or converges, the task's DNS listener in its namespace.
  Status listen(Local& entry) {
    const TaskService& task = entry.task;
    if (task.netns.empty())
      return {};
    if (entry.listener) {
      return dns->set_listener_networks(*entry.listener, dns_networks(task));
    }
    SHOAL_ASSIGN_OR_RETURN(Netns netns, open_netns(task.netns));
    SHOAL_ASSIGN_OR_RETURN(entry.listener, dns->add_listener(netns, dns_networks(task)));
    return {};
  }

  Status withdraw(const std::string& task_id) {
    FirstError first;
    auto it = local.find(task_id);
    if (it == local.end()) {
      // Not a task of this run: rows this node published before a restart still go.
      auto rows = seen.find(task_id);
      if (rows == seen.end() || config.node_name.empty())
        return {};
      std::vector<std::string> networks;
      for (const auto& [network, owner] : rows->second) {
        if (owner == config.node_name)
          networks.push_back(network);
      }
      for (const std::string& network : networks)
        erase_row(task_id, network);
      return {};
    }
    for (const std::string& network : it->second.networks)
      erase_row(task_id, network);
    if (it->second.listener)
      first(dns->remove_listener(*it->second.listener));
    balancer->detach_task(task_id);
    local.erase(it);
    return first.take();
  }

  // Once the table has had time to come back after a restart: frontends nobody claimed, and rows
  // of this node for tasks that do not run here any more, go.
  void settle() {
    if (settled || Clock::now() - started < config.adopt_grace)
      return;
    settled = true;
    if (auto pruned = balancer->prune(); !pruned.ok())
      spdlog::warn("service plane: prune: {}", pruned.error().message());
    if (config.node_name.empty())
      return;
    std::vector<std::pair<std::string, std::string>> stale;
    for (const auto& [task_id, rows] : seen) {
      if (local.contains(task_id))
        continue;
      for (const auto& [network, owner] : rows) {
        if (owner == config.node_name)
          stale.emplace_back(task_id, network);
      }
    }
    for (const auto& [task_id, network] : stale) {
      spdlog::info("service plane: withdrawing row of task {} on {}: not running here", task_id,
                   network);
      erase_row(task_id, network);
    }
  }

  // Stops serving; the pins stay unless `unpin`.
  Status shut(bool unpin) {
    FirstError first;
    table.reset();
    feed.reset();
    dns_sink.reset();
    dns.reset();  // every listener closes with it
    if (unpin && balancer)
      first(balancer->uninstall());
    balancer.reset();
    mesh = false;
    local.clear();
    ours.clear();
    seen.clear();
    return first.take();
  }
};

Result<std::unique_ptr<ServicePlane>> ServicePlane::start(ServicePlaneConfig config,
                                                          GossipNode& gossip) {
  if (config.node_tag.empty()) {
    return invalid_argument("service plane", "node tag is empty");
  }
  auto core = std::make_shared<Core>();
  core->config = std::move(config);
  core->gossip = &gossip;
  core->self = core->config.node_name.empty() ? kSelf : core->config.node_name;
  Core& c = *core;
  SHOAL_ASSIGN_OR_RETURN(Netns node_ns, open_netns(c.config.node_netns));
  c.node_ns.emplace(std::move(node_ns));

  BalancerConfig balancer{c.config.node_tag, c.config.node_ip, c.config.node_netns, c.config.uplink,
                          c.config.ingress_link};
  SHOAL_ASSIGN_OR_RETURN(c.balancer, make_balancer(c.config.backend, balancer));

  // Started from the node's namespace: the server's upstream queries leave from there.
  SHOAL_ASSIGN_OR_RETURN(c.dns, dataplane::run_in_netns(*c.node_ns, [] {
                           return DnsServer::start(dataplane::dns::DnsServerConfig{});
                         }));
  c.dns_sink = std::make_unique<DnsServerSink>(*c.dns);
  c.feed = std::make_unique<agent::ServiceFeed>("", c.balancer->balancer(), *c.dns_sink);
  c.table = std::make_unique<agent::EndpointTableFeed>(c.self, *c.feed);
  gossip.watch(agent::kEndpointTable, [core](const WatchEvent& event) { core->on_event(event); });
  return std::unique_ptr<ServicePlane>(new ServicePlane(std::move(core)));
}

ServicePlane::~ServicePlane() {
  if (!core_)
    return;
  std::lock_guard lock(core_->mutex);
  if (core_->state == Core::State::kRunning) {
    (void)core_->shut(false);
  }
  core_->state = Core::State::kClosed;
}

Status ServicePlane::enable_mesh(const std::string& ingress_network_id, Ipv4 node_ingress_ip) {
  if (ingress_network_id.empty()) {
    return invalid_argument("routing mesh", "the ingress network id is empty");
  }
  Core& c = *core_;
  std::lock_guard lock(c.mutex);
  SHOAL_TRY(c.check_running());
  if (c.mesh && c.mesh_network == ingress_network_id && c.mesh_ip == node_ingress_ip) {
    return {};
  }
  SHOAL_TRY(c.balancer->enable_mesh(node_ingress_ip));
  c.mesh = true;
  c.mesh_ip = node_ingress_ip;
  FirstError first;
  if (c.mesh_network != ingress_network_id) {
    c.mesh_network = ingress_network_id;
    first(c.feed->set_ingress_network(ingress_network_id));
    // The local tasks' ingress rows now carry their ports, and no names are served there.
    for (auto& [id, entry] : c.local)
      first(c.publish(entry));
  }
  c.settle();
  return first.take();
}

static Status check_task(const TaskService& task) {
  if (task.task_id.empty() || task.service_id.empty()) {
    return invalid_argument("task " + task.task_name, "needs a task id and a service id");
  }
  for (const TaskEndpoint& endpoint : task.endpoints) {
    if (endpoint.network_id.empty())
      return invalid_argument("task " + task.task_id, "has an endpoint without a network");
  }
  return {};
}

Status ServicePlane::task_starting(const TaskService& task) {
  SHOAL_TRY(check_task(task));
  Core& c = *core_;
  std::lock_guard lock(c.mutex);
  SHOAL_TRY(c.check_running());
  Core::Local& entry = c.local[task.task_id];
  entry.task = task;
  FirstError first;
  first(c.attach(task));  // before the task runs: its first connect to a VIP is balanced
  first(c.listen(entry));
  return first.take();
}

Status ServicePlane::task_running(const TaskService& task) {
  SHOAL_TRY(check_task(task));
  Core& c = *core_;
  std::lock_guard lock(c.mutex);
  SHOAL_TRY(c.check_running());
  Core::Local& entry = c.local[task.task_id];
  entry.task = task;
  FirstError first;
  first(c.attach(task));
  first(c.publish(entry));
  c.settle();
  return first.take();
}

Status ServicePlane::task_stopping(const std::string& task_id) {
  Core& c = *core_;
  std::lock_guard lock(c.mutex);
  SHOAL_TRY(c.check_running());
  Status withdrawn = c.withdraw(task_id);
  c.settle();
  return withdrawn;
}

Status ServicePlane::uninstall() {
  Core& c = *core_;
  std::lock_guard lock(c.mutex);
  if (c.state == Core::State::kUninstalled)
    return {};
  SHOAL_TRY(c.check_running());
  FirstError first;
  std::vector<std::string> tasks;
  for (const auto& [id, entry] : c.local)
    tasks.push_back(id);
  if (!c.config.node_name.empty()) {
    for (const auto& [id, rows] : c.seen) {
      for (const auto& [network, owner] : rows) {
        if (owner == c.config.node_name && !c.local.contains(id)) {
          tasks.push_back(id);
          break;
        }
      }
    }
  }
  for (const std::string& id : tasks)
    first(c.withdraw(id));
  first(c.shut(true));
  c.state = Core::State::kUninstalled;
  return first.take();
}

}  // namespace shoal::agent
