#include "control/manager/dispatcher/assignments.h"

#include <map>
#include <set>

#include "control/api/convert.h"

namespace shoal::manager {

using manager::TaskState;

namespace {

void add_address(api::Assignments& out, const std::string& network, Ipv4 addr,
                 const std::string& node) {
  auto& entry = *out.add_addresses();
  entry.set_network_id(network);
  entry.set_addr(addr.str());
  entry.set_node_id(node);
}

// Every address on `networks` and who holds it: the gossiped rows about them are checked
// against this (control/agent/rows/row_trust.h). Tasks count from their assignment to a node until
// they end; a node's own endpoint on the ingress network counts while the node exists.
void add_network_addresses(const manager::ReadTx& tx, const std::set<std::string>& networks,
                           const std::map<std::string, manager::Service>& services,
                           api::Assignments& out) {
  for (const auto& task : tx.tasks()) {
    if (task.node_id.empty() || manager::is_terminal(task.observed))
      continue;
    auto service = services.find(task.service_id);
    for (const auto& [network, addr] : task.addresses) {
      if (!networks.contains(network))
        continue;
      add_address(out, network, addr.addr(), task.node_id);
      auto& entry = *out.mutable_addresses(out.addresses_size() - 1);
      entry.set_task_id(task.id);
      entry.set_service_id(task.service_id);
      if (service == services.end())
        continue;
      entry.set_service_name(service->second.spec.name);
      if (auto vip = service->second.endpoint.vips.find(network);
          vip != service->second.endpoint.vips.end()) {
        entry.set_vip(vip->second.addr().str());
      }
    }
  }
  for (const auto& network : tx.networks()) {
    if (!network.ingress || !networks.contains(network.id))
      continue;
    for (const auto& node : tx.nodes()) {
      if (node.ingress_addr)
        add_address(out, network.id, node.ingress_addr->addr(), node.id);
    }
  }
}

}  // namespace

api::Assignments node_assignments(const manager::ReadTx& tx, const std::string& node_id,
                                  uint16_t gossip_port) {
  api::Assignments out;
  std::map<std::string, manager::Service> services;
  for (auto& service : tx.services())
    services.emplace(service.id, std::move(service));
  std::set<std::string> networks;
  std::set<std::string> configs;
  auto self = tx.get_node(node_id);
  if (self)
    out.set_role(self->role == manager::NodeRole::kManager ? "manager" : "worker");
  for (const auto& network : tx.networks()) {
    if (network.ingress && self && self->ingress_addr) {
      networks.insert(network.id);  // every node has the ingress network
      out.set_node_ingress_addr(self->ingress_addr->str());
      out.set_ingress_network_id(network.id);
    }
  }
  for (const auto& task : tx.tasks()) {
    // Live tasks the node has been given: it runs or stops them as `desired` says.
    if (task.node_id != node_id || task.observed < TaskState::kAssigned ||
        manager::is_terminal(task.observed)) {
      continue;
    }
    auto service = services.find(task.service_id);
    auto& sent = *out.add_tasks();
    api::to_proto(task, service == services.end() ? "" : service->second.spec.name, sent);
    if (service != services.end())
      api::endpoint_to_proto(service->second, sent);
    for (const auto& [network, addr] : task.addresses)
      networks.insert(network);
    for (const auto& ref : task.runtime.configs)
      configs.insert(ref.config_id);
  }
  // Only the configs of this node's tasks leave the manager for it: a config's data is no
  // business of a node that runs nothing using it.
  for (const auto& id : configs) {
    if (auto config = tx.get_config(id)) {
      auto& file = *out.add_configs();
      file.set_config_id(config->id);
      file.set_data(config->data);
    }
  }
  for (const auto& id : networks) {
    if (auto network = tx.get_network(id))
      api::to_proto(*network, *out.add_networks());
  }
  add_network_addresses(tx, networks, services, out);
  for (const auto& node : tx.nodes()) {
    if (node.id != node_id && node.status == manager::NodeStatus::kReady) {
      out.add_gossip_peers(node.addr.str() + ":" + std::to_string(gossip_port));
    }
    auto& member = *out.add_nodes();
    member.set_id(node.id);
    member.set_addr(node.addr.str());
  }
  return out;
}

std::vector<std::string> manager_addresses(const manager::ReadTx& tx, const std::string& leader_id,
                                           uint16_t manager_port) {
  std::vector<std::string> out;
  for (const auto& node : tx.nodes()) {
    if (node.role != manager::NodeRole::kManager) {
      continue;
    }
    auto addr = node.addr.str() + ":" + std::to_string(manager_port);
    if (node.id == leader_id) {
      out.insert(out.begin(), std::move(addr));
    } else {
      out.push_back(std::move(addr));
    }
  }
  return out;
}

}  // namespace shoal::manager
