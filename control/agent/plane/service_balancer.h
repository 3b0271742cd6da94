// The service plane's load balancer, behind a narrow interface: the ServiceFeed programs it with
// the same records whichever kernel mechanism carries them.
//
//   - eBPF (ebpf_service_balancer.cpp): one balancer for the whole node. The VIP hooks sit on the
//     node's cgroup, where every task runs, and the routing mesh on the node's links; tasks'
//     namespaces need nothing.
//   - IPVS (ipvs_service_balancer.h), as Docker does it: VIPs are balanced inside each task's
//     namespace (an IPVS instance per namespace, holding the VIPs of the networks the task is
//     on), published ports by an instance in the node's namespace.
//
// Lifetime: destroying a balancer leaves its kernel state for the next agent to adopt (no
// established connection drops across a restart); uninstall() removes it (swarm leave).
// Not thread-safe: the service plane calls it under its mutex.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/lb/backend_choice.h"
#include "dataplane/lb/load_balancer.h"
#include "dataplane/netns.h"

namespace shoal::agent {

struct BalancerConfig {
  std::string node_tag;    // scopes eBPF pins and the node cgroup
  Ipv4 node_ip;            // where published ports answer
  std::string node_netns;  // name or path; empty: the calling thread's
  std::string uplink;      // empty: the interface holding node_ip in node_netns
  std::string ingress_link = "ingress0";
};

class ServiceBalancer {
 public:
  virtual ~ServiceBalancer() = default;
  virtual const char* name() const = 0;  // "ebpf", "ipvs"
  // What the ServiceFeed programs (lb::Service::network says which network a VIP is on).
  virtual lb::LoadBalancer& balancer() = 0;
  // The node's endpoint on the ingress network is up with this address: the routing mesh can
  // reach the tasks' ingress addresses. Again with another address: moves it.
  virtual Status enable_mesh(Ipv4 node_ingress_ip) = 0;
  // A local task's namespace (name or path) and the networks it is on; again when they change.
  virtual Status attach_task(const std::string& task_id, const std::string& netns,
                             const std::set<std::string>& networks) = 0;
  // The task is stopping: its namespace goes with it (and whatever the balancer put there).
  virtual void detach_task(const std::string& task_id) = 0;
  // After a restart, once the feed is back: what nobody claimed again goes.
  virtual Status prune() = 0;
  // swarm leave: removes what the balancer put in the node's kernel. Every later call fails.
  virtual Status uninstall() = 0;
};

// A namespace by name (under /run/netns), by path (leading '/'), or the caller's (empty).
Result<dataplane::Netns> open_netns(const std::string& netns);

// Loads (or adopts) the node's eBPF programs.
Result<std::unique_ptr<ServiceBalancer>> make_ebpf_balancer(const BalancerConfig& config);
// Opens IPVS in the node's namespace (adopting what an earlier run left there).
Result<std::unique_ptr<ServiceBalancer>> make_ipvs_balancer(const BalancerConfig& config);
// What this kernel runs of the two backends (the eBPF and the IPVS probe).
lb::KernelSupport probe_kernel();
Result<std::unique_ptr<ServiceBalancer>> make_balancer(lb::BackendKind kind,
                                                       const BalancerConfig& config);

}  // namespace shoal::agent
