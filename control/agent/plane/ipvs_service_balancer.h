// The IPVS service balancer, as Docker uses IPVS:
//   - each local task's namespace gets its own IPVS instance (LinuxIpvsKernel opened inside it,
//     IpvsLoadBalancer on top) holding the VIPs of the networks the task is on, balanced over
//     the service's task addresses on that network: a task's connect to a VIP is balanced where
//     it is made, and nothing outside the task sees a VIP;
//   - the node's namespace gets one instance for the published ports (the routing mesh),
//     balanced over the tasks' ingress addresses through the node's ingress endpoint.
// It is the feed's lb::LoadBalancer: each service is split, its VIPs to the instances of the
// tasks on lb::Service::network, its published ports to the node's.
//
// Restarts: every instance adopts what the kernel kept (IpvsLoadBalancer::create) as the
// executor names its tasks again; prune() drops what the feed did not claim back. A task's
// instance is dropped when it stops without touching the kernel: its state goes with its
// namespace. uninstall() tears the node's instance down (tables, services, VIP link).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "control/agent/plane/service_balancer.h"
#include "ipvs/ipvs_lb.h"

namespace shoal::agent {

// Opens IPVS in a namespace (name or path; empty: the node's, as BalancerConfig names it).
using IpvsKernelFactory =
    std::function<Result<std::unique_ptr<ipvs::IpvsKernel>>(const std::string& netns)>;

class IpvsServiceBalancer final : public ServiceBalancer, public lb::LoadBalancer {
 public:
  static Result<std::unique_ptr<IpvsServiceBalancer>> create(IpvsKernelFactory open_kernel);

  // ServiceBalancer
  const char* name() const override { return "ipvs"; }
  lb::LoadBalancer& balancer() override { return *this; }
  Status enable_mesh(Ipv4 node_ingress_ip) override;
  Status attach_task(const std::string& task_id, const std::string& netns,
                     const std::set<std::string>& networks) override;
  void detach_task(const std::string& task_id) override;
  Status prune() override;
  Status uninstall() override;

  // lb::LoadBalancer, for the feed
  std::string backend_name() const override { return "ipvs"; }
  Status upsert(const lb::Service& service) override;
  Status set_backends(const std::string& service_id, const std::vector<lb::Backend>& backends,
                      const std::vector<lb::Backend>& ingress_backends) override;
  Status remove(const std::string& service_id) override;
  std::vector<lb::Service> list() const override;

  // For tests and logs: the task namespaces with an instance, and the node's balancer.
  std::vector<std::string> tasks() const;
  ipvs::IpvsLoadBalancer* node() { return node_.lb.get(); }
  ipvs::IpvsLoadBalancer* task(const std::string& task_id);

 private:
  struct Instance {
    std::unique_ptr<ipvs::IpvsKernel> kernel;
    std::unique_ptr<ipvs::IpvsLoadBalancer> lb;  // declared after: destroyed before its kernel
  };
  struct TaskNs {
    std::string netns;
    std::set<std::string> networks;
    Instance ipvs;
  };

  explicit IpvsServiceBalancer(IpvsKernelFactory open_kernel)
      : open_kernel_(std::move(open_kernel)) {}
  Result<Instance> open(const std::string& netns);
  Status check() const;
  Status apply(TaskNs& task, const lb::Service& service);
  Status apply_node(const lb::Service& service);

  IpvsKernelFactory open_kernel_;
  Instance node_;
  std::map<std::string, TaskNs> tasks_;          // by task id
  std::map<std::string, lb::Service> services_;  // what the feed asked for, whole
};

}  // namespace shoal::agent
