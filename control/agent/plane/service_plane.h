// The node's service plane: VIPs, published ports (the routing mesh) and the embedded DNS, fed
// from the gossiped service endpoint table. The load balancing itself is a ServiceBalancer
// (service_balancer.h): eBPF on the node's cgroup and links, or IPVS in each task's namespace
// and the node's, as ServicePlaneConfig::backend says.
//
// The executor calls it: task_running() when a task is RUNNING publishes one "endpoint_table"
// row per network of the task (Docker's EndpointRecord, key = task id) and starts the task's DNS
// listener (127.0.0.11:53 in its namespace); task_stopping() withdraws them before the task is
// signalled. Every node watches the table: the rows of every node (this one included) drive a
// ServiceFeed into the node's load balancer and DNS server, so each node programs the VIPs
// of the networks it has and the published ports of every service. With IPVS, a task's
// namespace gets the VIPs of its networks when it starts, and loses them when it stops.
//
// This node's own rows are applied to the balancer at once, on the caller's thread, and the
// table's echo of them is ignored: a task being stopped is out of rotation here when
// task_stopping returns, and other nodes follow within the table's gossip delay.
//
// Threads: watch events arrive on the gossip thread, the other calls on the executor's; one mutex
// orders them. Start it before the executor joins any network: the table's watch sees only the
// changes after it is registered.
//
// Restarts: the BPF maps, cgroup links and tc filters stay pinned when the object goes (IPVS
// services and nftables maps stay in their namespaces), so a new agent adopts them without
// dropping a connection; frontends nobody claims again are pruned once `adopt_grace` has passed
// (the time the table needs to come back). uninstall() removes it all.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/agent/gossip/gossip_node.h"
#include "control/agent/plane/task_rotation.h"
#include "control/agent/rows/service_feed.h"
#include "dataplane/lb/backend_choice.h"

namespace shoal::agent {

struct ServicePlaneConfig {
  std::string node_tag;    // scopes pins (<bpffs>/shoal/<tag>/) and the node cgroup
                           // (<cgroup2>/shoal/<tag>, the task runtime's parent cgroup)
  Ipv4 node_ip;            // the node's underlay address (where published ports answer)
  std::string node_netns;  // the node's netns (name or path); empty: the calling thread's
  // The node's gossip member name (the node id), the owner of the rows it publishes. Optional:
  // with it, rows an earlier run of this node left for tasks that no longer run are withdrawn.
  std::string node_name;
  std::string uplink;  // empty: the interface holding node_ip in node_netns (found there)
  std::string ingress_link = "ingress0";  // the node's endpoint on the ingress network
  std::chrono::seconds adopt_grace{20};   // after a restart, before unclaimed frontends go
  lb::BackendKind backend = lb::BackendKind::kEbpf;
};

// The endpoint_table rows of a running task, one per network. Ports go on the row of
// `ingress_network_id` only (as Docker's ingress ports); empty when it is not known yet.
std::vector<agent::EndpointRecord> endpoint_rows(const TaskService& task,
                                                 const std::string& ingress_network_id);

class ServicePlane final : public TaskRotation {
 public:
  // Loads (or adopts) the node's load balancer, starts the DNS server, watches the table.
  static Result<std::unique_ptr<ServicePlane>> start(ServicePlaneConfig config, GossipNode& gossip);
  // Leaves the balancer's kernel state (and the rows in the table) for the next agent to adopt.
  ~ServicePlane() override;
  ServicePlane(const ServicePlane&) = delete;
  ServicePlane& operator=(const ServicePlane&) = delete;

  // The node's own address on the ingress network, once its endpoint (ingress_link in the node
  // netns, holding the gateway) is attached: turns the routing mesh on for published ports.
  // Calling it again with other values moves the mesh; with the same, changes nothing.
  Status enable_mesh(const std::string& ingress_network_id, Ipv4 node_ingress_ip) override;
  // A task is about to start: its DNS listener, so that its first lookup is answered. No rows:
  // nothing sends it traffic yet.
  Status task_starting(const TaskService& task) override;
  // A task became RUNNING: its rows (one per network) and its DNS listener. Again for the same
  // task: converges to the new endpoints.
  Status task_running(const TaskService& task) override;
  // A task is about to be stopped, or ended: its rows first (out of rotation on this node at
  // once), then its DNS listener. Unknown tasks: any row this node saw for that id is withdrawn.
  Status task_stopping(const std::string& task_id) override;
  // swarm leave: withdraws every row of this node, stops DNS, removes the balancer's kernel
  // state (eBPF: detaches and unpins the programs, removes the node cgroup when empty; IPVS: the
  // node's services and table). Every later call fails.
  Status uninstall() override;

  struct Core;  // the state shared with the table's watcher

 private:
  explicit ServicePlane(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace shoal::agent
