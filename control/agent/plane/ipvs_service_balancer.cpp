#include "control/agent/plane/ipvs_service_balancer.h"

#include <spdlog/spdlog.h>

#include "common/first_error.h"

namespace shoal::agent {
namespace {

// The part of a service a task's namespace holds: its VIPs.
lb::Service vip_part(const lb::Service& service) {
  lb::Service part = service;
  part.published.clear();
  part.ingress_backends.clear();
  return part;
}

// The part the node's namespace holds: its published ports.
lb::Service port_part(const lb::Service& service) {
  lb::Service part = service;
  part.frontends.clear();
  part.backends.clear();
  return part;
}

}  // namespace

Result<std::unique_ptr<IpvsServiceBalancer>> IpvsServiceBalancer::create(
    IpvsKernelFactory open_kernel) {
  std::unique_ptr<IpvsServiceBalancer> balancer(new IpvsServiceBalancer(std::move(open_kernel)));
  SHOAL_ASSIGN_OR_RETURN(balancer->node_, balancer->open(""));
  return balancer;
}

Result<IpvsServiceBalancer::Instance> IpvsServiceBalancer::open(const std::string& netns) {
  Instance instance;
  SHOAL_ASSIGN_OR_RETURN(instance.kernel, open_kernel_(netns));
  SHOAL_ASSIGN_OR_RETURN(instance.lb, ipvs::IpvsLoadBalancer::create(*instance.kernel));
  if (size_t adopted = instance.lb->unclaimed(); adopted != 0) {
    spdlog::info("ipvs: adopted {} services in {}", adopted, netns.empty() ? "the node" : netns);
  }
  return instance;
}

Status IpvsServiceBalancer::check() const {
  if (!node_.lb)
    return invalid_argument("IPVS service balancer", "is uninstalled");
  return {};
}

// A service's VIPs are in a task's namespace exactly when the task is on the VIPs' network.
Status IpvsServiceBalancer::apply(TaskNs& task, const lb::Service& service) {
  if (service.frontends.empty() || !task.networks.contains(service.network))
    return task.ipvs.lb->remove(service.id);
  return task.ipvs.lb->upsert(vip_part(service));
}

Status IpvsServiceBalancer::apply_node(const lb::Service& service) {
  if (service.published.empty())
    return node_.lb->remove(service.id);
  return node_.lb->upsert(port_part(service));
}

// Routes to the tasks' ingress addresses come with the node's ingress endpoint; IPVS needs
// nothing more (its masquerade takes the endpoint's address as the source).
Status IpvsServiceBalancer::enable_mesh(Ipv4) {
  return check();
}

Status IpvsServiceBalancer::attach_task(const std::string& task_id, const std::string& netns,
                                        const std::set<std::string>& networks) {
  SHOAL_TRY(check());
  if (netns.empty())
    return invalid_argument("task " + task_id, "has no namespace");
  auto it = tasks_.find(task_id);
  if (it != tasks_.end() && it->second.netns != netns) {
    tasks_.erase(it);  // a new namespace for the same task: the old one's state is its own
    it = tasks_.end();
  }
  if (it == tasks_.end()) {
    SHOAL_ASSIGN_OR_RETURN(Instance instance, open(netns));
    it = tasks_.emplace(task_id, TaskNs{netns, {}, std::move(instance)}).first;
  }
  it->second.networks = networks;
  FirstError first;
  for (const auto& [id, service] : services_)
    first(apply(it->second, service));
  return first.take();
}

void IpvsServiceBalancer::detach_task(const std::string& task_id) {
  tasks_.erase(task_id);
}

Status IpvsServiceBalancer::prune() {
  SHOAL_TRY(check());
  FirstError first;
  first(node_.lb->prune());
  for (auto& [id, task] : tasks_)
    first(task.ipvs.lb->prune());
  return first.take();
}

Status IpvsServiceBalancer::uninstall() {
  SHOAL_TRY(check());
  tasks_.clear();  // their namespaces go with their tasks
  Status down = node_.lb->teardown();
  node_ = Instance{};
  services_.clear();
  return down;
}

Status IpvsServiceBalancer::upsert(const lb::Service& service) {
  SHOAL_TRY(check());
  SHOAL_TRY(lb::validate_service(service));
  services_[service.id] = service;
  FirstError first;
  first(apply_node(service));
  for (auto& [id, task] : tasks_)
    first(apply(task, service));
  return first.take();
}

Status IpvsServiceBalancer::set_backends(const std::string& service_id,
                                         const std::vector<lb::Backend>& backends,
                                         const std::vector<lb::Backend>& ingress_backends) {
  auto it = services_.find(service_id);
  if (it == services_.end())
    return invalid_argument("service " + service_id, "not known to the IPVS service balancer");
  lb::Service changed = it->second;
  changed.backends = backends;
  changed.ingress_backends = ingress_backends;
  return upsert(changed);
}

Status IpvsServiceBalancer::remove(const std::string& service_id) {
  SHOAL_TRY(check());
  services_.erase(service_id);
  FirstError first;
  first(node_.lb->remove(service_id));
  for (auto& [id, task] : tasks_)
    first(task.ipvs.lb->remove(service_id));
  return first.take();
}

std::vector<lb::Service> IpvsServiceBalancer::list() const {
  std::vector<lb::Service> all;
  for (const auto& [id, service] : services_)
    all.push_back(service);
  return all;
}

std::vector<std::string> IpvsServiceBalancer::tasks() const {
  std::vector<std::string> ids;
  for (const auto& [id, task] : tasks_)
    ids.push_back(id);
  return ids;
}

ipvs::IpvsLoadBalancer* IpvsServiceBalancer::task(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : it->second.ipvs.lb.get();
}

Result<std::unique_ptr<ServiceBalancer>> make_ipvs_balancer(const BalancerConfig& config) {
  const std::string node_netns = config.node_netns;
  auto open_kernel =
      [node_netns](const std::string& netns) -> Result<std::unique_ptr<ipvs::IpvsKernel>> {
    const std::string where = netns.empty() ? node_netns : netns;
    std::optional<dataplane::Netns> ns;
    if (!where.empty()) {
      SHOAL_ASSIGN_OR_RETURN(dataplane::Netns opened, open_netns(where));
      ns.emplace(std::move(opened));
    }
    SHOAL_ASSIGN_OR_RETURN(auto kernel, ipvs::LinuxIpvsKernel::open(std::move(ns)));
    return std::unique_ptr<ipvs::IpvsKernel>(std::move(kernel));
  };
  SHOAL_ASSIGN_OR_RETURN(auto balancer, IpvsServiceBalancer::create(std::move(open_kernel)));
  return std::unique_ptr<ServiceBalancer>(std::move(balancer));
}

}  // namespace shoal::agent
