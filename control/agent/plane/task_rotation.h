// What the executor tells the service plane about its tasks (ServicePlane implements it; the
// executor's unit tests give a fake): a task starting, running (in rotation: its rows and DNS),
// stopping (out of rotation first), the routing mesh, and leaving the swarm.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/agent/rows/service_feed.h"

namespace shoal::agent {

struct TaskEndpoint {
  std::string network_id;
  Ipv4 ip;
  std::optional<Ipv4> vip;           // the service's VIP on that network (none for dnsrr)
  std::vector<std::string> aliases;  // extra DNS names on that network
};

struct TaskService {
  std::string task_id, task_name /* "web.1.<task id>" */, service_id, service_name;
  std::string netns;                    // the task's netns (name under /run/netns, or a path)
  std::vector<TaskEndpoint> endpoints;  // every network, the ingress network included when
                                        // the service publishes ports
  // Published ports (mode ingress and mode host). They travel on the ingress network's row: a
  // service that publishes any port (host mode too) needs an endpoint on the ingress network.
  std::vector<agent::PublishedPortRecord> ports;
  bool dnsrr = false;
};

class TaskRotation {
 public:
  virtual ~TaskRotation() = default;
  // The node's own address on the ingress network: turns the routing mesh on (service_plane.h).
  virtual Status enable_mesh(const std::string& ingress_network_id, Ipv4 node_ingress_ip) = 0;
  virtual Status task_starting(const TaskService& task) = 0;
  virtual Status task_running(const TaskService& task) = 0;
  virtual Status task_stopping(const std::string& task_id) = 0;
  // swarm leave: everything of this node out, the plane's kernel state removed.
  virtual Status uninstall() = 0;
};

}  // namespace shoal::agent
