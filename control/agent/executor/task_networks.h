// The network side of the tasks on this node: the overlay networks they use, one endpoint per
// network in each task's namespace, the node's own endpoint on the ingress network (ingress0,
// which the routing mesh sends from), and the overlay peers.
//
// Peers come from and go to the gossiped table "overlay_peer_table": every endpoint attached
// here is published as a row (withdrawn at detach), and every row another node publishes becomes
// an FDB/neighbour entry on that network's VXLAN device. Networks no live task uses are removed;
// the first prune after a start also sweeps what an earlier run of the agent left.
//
// Thread-safe: the overlay is used under one lock, the peers under another.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "control/agent/executor/task_record.h"
#include "control/agent/gossip/table_member.h"
#include "control/api/convert.h"
#include "dataplane/kernel.h"
#include "dataplane/overlay.h"
#include "gossip/networkdb/table_store.h"

namespace shoal::agent {

// A task's endpoint on its index-th network: a second network's endpoint needs an id of its own
// (it names the sandbox's veth end).
std::string endpoint_id(const std::string& task_id, size_t index);

using NetworkMap = std::map<std::string, manager::Network>;

class TaskNetworks {
 public:
  // `vtep`: this node's address, where its endpoints' rows say they live.
  TaskNetworks(std::unique_ptr<dataplane::NetKernel> kernel, dataplane::Overlay overlay, Ipv4 vtep,
               TableMember& gossip);

  // The node's own endpoint on the ingress network, holding its gateway.
  Status attach_node(const manager::Network& ingress, Ipv4Prefix addr);
  // The task's endpoints, eth0 first (which makes its namespace): each network attached is
  // added to `record` at once, so that detach_task undoes a partial attach.
  Status attach_task(const api::TaskAssignment& task, const NetworkMap& networks,
                     TaskRecord& record);
  // Its rows in the peer table (again after a restart: gossip state died with the agent).
  void publish(const std::string& task_id, const TaskRecord& record);
  // Its rows withdrawn (its address may go to a task on another host next) and its endpoints
  // removed.
  void detach_task(const std::string& task_id, const TaskRecord& record);

  // A row of the peer table changed: true when the peers to program changed.
  bool note_peer(const gossip::networkdb::WatchEvent& event);
  // Adopts the networks of live records (a restarted agent), then programs every network's
  // peers as the table has them.
  void program_peers(const std::map<std::string, TaskRecord>& records, const NetworkMap& networks);
  // Takes part in, and keeps, only the networks live records use (and `node_network`, the
  // ingress network every node keeps once attached).
  void prune(const std::map<std::string, TaskRecord>& records,
             const std::optional<std::string>& node_network);
  // Every network and namespace of this node goes (swarm leave).
  Status remove_all();

 private:
  Status ensure(const manager::Network& network);  // under overlay_mutex_

  std::unique_ptr<dataplane::NetKernel> kernel_;
  std::mutex overlay_mutex_;  // the overlay is not thread-safe; guards ensured_, needs_sweep_
  dataplane::Overlay overlay_;
  std::set<std::string> ensured_;
  bool needs_sweep_ = true;
  Ipv4 vtep_;
  TableMember& gossip_;
  std::mutex peers_mutex_;
  // The overlay peer table as gossip has it: network -> endpoint id -> where it lives.
  std::map<std::string, std::map<std::string, dataplane::PeerSpec>> peers_;
};

}  // namespace shoal::agent
