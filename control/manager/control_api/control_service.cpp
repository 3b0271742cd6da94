#include "control/manager/control_api/control_service.h"

#include <algorithm>
#include <set>

#include "control/api/convert.h"
#include "control/api/grpc_status.h"
#include "control/manager/access/auth.h"
#include "control/manager/control_api/control_configs.h"
#include "control/manager/control_api/lookup.h"
#include "control/manager/rules/service_update.h"
#include "control/manager/rules/validation.h"

namespace shoal::manager {

using manager::ReadTx;
using manager::WriteTx;

namespace {

grpc::Status write(manager::Store& store, const std::function<Status(WriteTx&)>& writer) {
  auto written = store.update(writer);
  if (!written.ok()) {
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  }
  return grpc::Status::OK;
}

// A published port (ingress mode) is the cluster's: two services cannot hold the same one.
std::optional<std::string> port_holder(const ReadTx& tx, const manager::PortConfig& port,
                                       const std::string& own_id) {
  if (port.published == 0 || port.mode != manager::PublishMode::kIngress) {
    return std::nullopt;
  }
  for (const auto& service : tx.services()) {
    if (service.id == own_id) {
      continue;
    }
    const auto& ports = service.allocated ? service.endpoint.ports : service.spec.ports;
    for (const auto& held : ports) {
      if (held.published == port.published && held.protocol == port.protocol &&
          held.mode == manager::PublishMode::kIngress) {
        return service.spec.name;
      }
    }
  }
  return std::nullopt;
}

// MANAGER STATUS of `node ls`: probed once per call (a member that does not answer costs one
// short timeout, in parallel).
std::map<std::string, std::string> manager_statuses(const ManagerContext& held) {
  return held.hooks->manager_statuses();
}

void node_to_proto(const manager::Node& node, const std::string& leader,
                   const std::map<std::string, std::string>& statuses, api::Node& out) {
  api::to_proto(node, node.id == leader, out);
  if (node.role != manager::NodeRole::kManager) {
    return;
  }
  auto status = statuses.find(node.id);
  out.set_manager_status(node.id == leader          ? "Leader"
                         : status != statuses.end() ? status->second
                                                    : "Unreachable");
}

// A demotion the managers' store would not survive is refused before anything is written.
grpc::Status check_demotion(const ManagerContext& held, const manager::Node& node, bool force) {
  if (force) {
    return grpc::Status::OK;
  }
  if (auto safe = held.hooks->check_manager_removal(node.id, node.addr.str()); !safe.ok()) {
    return api::to_grpc(safe.error(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ControlService::hold(const grpc::ServerContext& context,
                                  std::shared_ptr<const ManagerContext>& held) const {
  if (require_certificate_) {
    if (auto status = require_manager(context); !status.ok())
      return status;
  }
  held = source_();
  if (!held || held->manager == nullptr)
    return api::failed_precondition(api::kNotAManager);
  if (!require_certificate_)
    return grpc::Status::OK;  // the CLI socket: root on this host
  grpc::Status current;
  held->manager->store().view(
      [&](const ReadTx& tx) { current = require_current_manager(context, tx); });
  return current;
}

// ---- nodes ----

grpc::Status ControlService::ListNodes(grpc::ServerContext* context, const api::Empty*,
                                       api::ListNodesResponse* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  auto leader = held->hooks->leader_node_id();
  auto statuses = manager_statuses(*held);
  manager.store().view([&](const ReadTx& tx) {
    for (const auto& node : tx.nodes()) {
      node_to_proto(node, leader, statuses, *response->add_nodes());
    }
  });
  return grpc::Status::OK;
}

grpc::Status ControlService::GetNode(grpc::ServerContext* context, const api::IdRequest* request,
                                     api::Node* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  Found<manager::Node> node;
  manager.store().view([&](const ReadTx& tx) { node = find_node(tx, request->id()); });
  if (!node)
    return node.refusal();
  node_to_proto(*node, held->hooks->leader_node_id(), manager_statuses(*held), *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::UpdateNode(grpc::ServerContext* context,
                                        const api::UpdateNodeRequest* request,
                                        api::Node* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Node> node;
  manager.store().view([&](const ReadTx& tx) { node = find_node(tx, request->id()); });
  if (!node)
    return node.refusal();
  bool demoting = false;
  if (!request->availability().empty()) {
    auto availability = manager::parse_availability(request->availability());
    if (!availability.ok())
      return api::to_grpc(availability.error());
    node->availability = *availability;
  }
  if (!request->role().empty()) {
    auto role = manager::parse_role(request->role());
    if (!role.ok())
      return api::to_grpc(role.error());
    if (*role != node->role && *role == manager::NodeRole::kWorker) {
      if (auto status = check_demotion(*held, *node, request->force()); !status.ok())
        return status;
      demoting = true;
    }
    node->role = *role;  // a promoted node starts its manager when it sees this
  }
  for (const auto& [key, value] : request->label_add())
    node->labels[key] = value;
  for (const auto& key : request->label_rm())
    node->labels.erase(key);
  // The role first, then the member: a leader demoting itself writes through its own member.
  if (auto status = write(manager.store(), [&](WriteTx& tx) { return tx.update(*node); });
      !status.ok()) {
    return status;
  }
  if (demoting) {
    if (auto removed = held->hooks->remove_manager(node->id, node->addr.str(), request->force());
        !removed.ok()) {
      node->role = manager::NodeRole::kManager;
      auto reverted = manager.store().update([&](WriteTx& tx) {
        auto current = tx.get_node(node->id);
        if (!current)
          return Status{};
        current->role = manager::NodeRole::kManager;
        return tx.update(*current);
      });
      (void)reverted;  // the refusal is what the caller needs to hear
      return api::to_grpc(removed.error(), grpc::StatusCode::FAILED_PRECONDITION);
    }
  }
  api::to_proto(*node, node->id == held->hooks->leader_node_id(), *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::RemoveNode(grpc::ServerContext* context,
                                        const api::RemoveNodeRequest* request, api::Empty*) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Node> node;
  manager.store().view([&](const ReadTx& tx) { node = find_node(tx, request->id()); });
  if (!node)
    return node.refusal();
  if (node->id == held->hooks->leader_node_id()) {
    return api::failed_precondition("node " + node->id +
                                    " is the leader manager and cannot be removed");
  }
  if (node->role == manager::NodeRole::kManager) {
    if (!request->force()) {
      return api::failed_precondition(
          "node " + node->id +
          " is a cluster manager and is a member of the managers' store. "
          "It must be demoted to worker before removal");
    }
    if (auto removed = held->hooks->remove_manager(node->id, node->addr.str(), true); !removed.ok())
      return api::to_grpc(removed.error(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  if (node->status != manager::NodeStatus::kDown && !request->force()) {
    return api::failed_precondition("node " + node->id +
                                    " is not down and can't be removed (use --force)");
  }
  return write(manager.store(), [&](WriteTx& tx) { return tx.remove_node(node->id); });
}

// ---- networks ----

grpc::Status ControlService::CreateNetwork(grpc::ServerContext* context,
                                           const api::CreateNetworkRequest* request,
                                           api::Network* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  manager::Network network;
  network.name = request->name();
  network.driver = request->driver().empty() ? "overlay" : request->driver();
  network.attachable = request->attachable();
  network.labels.insert(request->labels().begin(), request->labels().end());
  if (!request->subnet().empty()) {
    auto subnet = Ipv4Prefix::parse(request->subnet());
    if (!subnet.ok())
      return api::invalid("invalid subnet " + request->subnet() + ": " + subnet.error().message());
    if (subnet->addr() != subnet->network()) {
      return api::invalid("invalid subnet " + request->subnet() +
                          ": host bits are set (did you mean " +
                          Ipv4Prefix(subnet->network(), subnet->length()).str() + "?)");
    }
    network.subnet = *subnet;
  }
  if (!request->gateway().empty()) {
    auto gateway = Ipv4::parse(request->gateway());
    if (!gateway.ok())
      return api::invalid("invalid gateway " + request->gateway());
    network.gateway = *gateway;
  }
  if (auto valid = manager::validate_network(network); !valid.ok()) {
    return api::to_grpc(valid.error());
  }
  std::lock_guard lock(manager.control_mutex());
  grpc::Status conflict = grpc::Status::OK;
  manager.store().view([&](const ReadTx& tx) {
    for (const auto& other : tx.networks()) {
      if (other.name == network.name) {
        conflict = {grpc::StatusCode::ALREADY_EXISTS,
                    "network with name " + network.name + " already exists"};
        return;
      }
      if (network.subnet && other.subnet && network.subnet->overlaps(*other.subnet)) {
        conflict = api::invalid("subnet " + network.subnet->str() + " overlaps with network " +
                                other.name + " (" + other.subnet->str() + ")");
        return;
      }
    }
  });
  if (!conflict.ok())
    return conflict;
  network.id = manager.ids().next();
  if (auto status = write(manager.store(), [&](WriteTx& tx) { return tx.create(network); });
      !status.ok()) {
    return status;
  }
  api::to_proto(network, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::ListNetworks(grpc::ServerContext* context, const api::Empty*,
                                          api::ListNetworksResponse* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  manager.store().view([&](const ReadTx& tx) {
    for (const auto& network : tx.networks())
      api::to_proto(network, *response->add_networks());
  });
  return grpc::Status::OK;
}

grpc::Status ControlService::GetNetwork(grpc::ServerContext* context, const api::IdRequest* request,
                                        api::Network* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  Found<manager::Network> network;
  manager.store().view([&](const ReadTx& tx) { network = find_network(tx, request->id()); });
  if (!network)
    return network.refusal();
  api::to_proto(*network, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::RemoveNetwork(grpc::ServerContext* context,
                                           const api::IdRequest* request, api::Empty*) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Network> network;
  std::string user;
  manager.store().view([&](const ReadTx& tx) {
    network = find_network(tx, request->id());
    if (!network)
      return;
    for (const auto& service : tx.services()) {
      for (const auto& id : service.spec.networks) {
        if (id == network->id)
          user = service.spec.name;
      }
    }
  });
  if (!network)
    return network.refusal();
  if (network->ingress) {
    return api::failed_precondition("network " + network->name +
                                    " is the ingress network and cannot be removed");
  }
  if (!user.empty()) {
    return api::failed_precondition("network " + network->name + " is in use by service " + user);
  }
  return write(manager.store(), [&](WriteTx& tx) { return tx.remove_network(network->id); });
}

// ---- services ----

// Alias entries name their network as the client did (name or id); the store keeps ids. An
// alias on a network the service is not on is refused here, where its name is still known.
static grpc::Status resolve_alias_networks(const ReadTx& tx, manager::ServiceSpec& spec) {
  manager::NetworkAliases by_id;
  for (auto& [ref, names] : spec.network_aliases) {
    auto network = find_network(tx, ref);
    if (!network)
      return network.ambiguous() ? network.refusal()
                                 : api::not_found("network " + ref + " (of network aliases)");
    if (std::find(spec.networks.begin(), spec.networks.end(), network->id) == spec.networks.end())
      return api::invalid("service " + spec.name + " has aliases on network " + ref +
                          ", which it is not on");
    auto& merged = by_id[network->id];
    merged.insert(merged.end(), names.begin(), names.end());
  }
  spec.network_aliases = std::move(by_id);
  return grpc::Status::OK;
}

static grpc::Status checked_spec(ManagerRuntime& manager, const api::ServiceSpec& in,
                                 const std::string& own_id, manager::ServiceSpec& out) {
  auto spec = api::from_proto(in);
  if (!spec.ok())
    return api::to_grpc(spec.error());
  out = std::move(spec).value();
  grpc::Status status = grpc::Status::OK;
  manager.store().view([&](const ReadTx& tx) {
    std::vector<std::string> ids;
    for (const auto& ref : out.networks) {
      auto network = find_network(tx, ref);
      if (!network) {
        status = network.refusal();
        return;
      }
      if (network->ingress) {
        status = api::invalid("service cannot be explicitly attached to the ingress network " +
                              network->name);
        return;
      }
      ids.push_back(network->id);
    }
    out.networks = std::move(ids);
    status = resolve_alias_networks(tx, out);
    if (!status.ok())
      return;
    for (const auto& port : out.ports) {
      if (auto holder = port_holder(tx, port, own_id)) {
        status = api::invalid("port " + std::to_string(port.published) +
                              " is already in use by service " + *holder + " as an ingress port");
        return;
      }
    }
    if (auto same = tx.service_by_name(out.name); same && same->id != own_id) {
      status = {grpc::StatusCode::ALREADY_EXISTS, "service " + out.name + " already exists"};
      return;
    }
    status = resolve_config_references(tx, out.configs);
  });
  if (!status.ok())
    return status;
  if (auto valid = manager::validate_service_spec(out); !valid.ok()) {
    return api::to_grpc(valid.error());
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::CreateService(grpc::ServerContext* context,
                                           const api::ServiceSpec* request,
                                           api::Service* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  manager::Service service;
  if (auto status = checked_spec(manager, *request, "", service.spec); !status.ok())
    return status;
  service.id = manager.ids().next();
  service.spec_version = 1;
  if (auto status = write(manager.store(), [&](WriteTx& tx) { return tx.create(service); });
      !status.ok()) {
    return status;
  }
  api::to_proto(service, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::ListServices(grpc::ServerContext* context, const api::Empty*,
                                          api::ListServicesResponse* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  manager.store().view([&](const ReadTx& tx) {
    for (const auto& service : tx.services()) {
      if (!service.spec.standalone_run)  // `shoal run` processes are not services to the user
        api::to_proto(service, *response->add_services());
    }
  });
  return grpc::Status::OK;
}

grpc::Status ControlService::GetService(grpc::ServerContext* context, const api::IdRequest* request,
                                        api::Service* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  Found<manager::Service> service;
  manager.store().view([&](const ReadTx& tx) { service = find_service(tx, request->id()); });
  if (!service)
    return service.refusal();
  api::to_proto(*service, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::UpdateService(grpc::ServerContext* context,
                                           const api::UpdateServiceRequest* request,
                                           api::Service* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Service> service;
  manager.store().view([&](const ReadTx& tx) { service = find_service(tx, request->id()); });
  if (!service)
    return service.refusal();
  if (request->version() != 0 && request->version() != service->version) {
    return {grpc::StatusCode::ABORTED,
            "update out of sequence: service " + service->spec.name + " changed since it was read"};
  }
  manager::ServiceSpec spec;
  if (auto status = checked_spec(manager, request->spec(), service->id, spec); !status.ok()) {
    return status;
  }
  if (auto updated = manager::update_service(*service, std::move(spec), request->force(),
                                             manager::Clock::now());
      !updated.ok()) {
    return api::to_grpc(updated.error());
  }
  if (auto status = write(manager.store(), [&](WriteTx& tx) { return tx.update(*service); });
      !status.ok()) {
    return status;
  }
  manager.store().view([&](const ReadTx& tx) { service = tx.get_service(service->id); });
  api::to_proto(*service, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::RollbackService(grpc::ServerContext* context,
                                             const api::IdRequest* request,
                                             api::Service* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Service> service;
  manager.store().view([&](const ReadTx& tx) { service = find_service(tx, request->id()); });
  if (!service)
    return service.refusal();
  if (auto rolled = manager::roll_back_service(*service, manager::Clock::now()); !rolled.ok())
    return api::to_grpc(rolled.error(), grpc::StatusCode::FAILED_PRECONDITION);
  if (auto status = write(manager.store(), [&](WriteTx& tx) { return tx.update(*service); });
      !status.ok()) {
    return status;
  }
  manager.store().view([&](const ReadTx& tx) { service = tx.get_service(service->id); });
  api::to_proto(*service, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::RemoveService(grpc::ServerContext* context,
                                           const api::IdRequest* request, api::Empty*) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Service> service;
  manager.store().view([&](const ReadTx& tx) { service = find_service(tx, request->id()); });
  if (!service)
    return service.refusal();
  return write(manager.store(), [&](WriteTx& tx) { return tx.remove_service(service->id); });
}

grpc::Status ControlService::ListTasks(grpc::ServerContext* context,
                                       const api::ListTasksRequest* request,
                                       api::ListTasksResponse* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  grpc::Status status = grpc::Status::OK;
  manager.store().view([&](const ReadTx& tx) {
    Found<manager::Service> service;
    Found<manager::Node> node;
    if (!request->service().empty() && !(service = find_service(tx, request->service()))) {
      status = service.refusal();
      return;
    }
    if (!request->node().empty() && !(node = find_node(tx, request->node()))) {
      status = node.refusal();
      return;
    }
    std::map<std::string, std::string> names;
    for (const auto& s : tx.services())
      names[s.id] = s.spec.name;
    for (const auto& task : tx.tasks()) {
      if ((service && task.service_id != service->id) || (node && task.node_id != node->id)) {
        continue;
      }
      api::to_proto(task, names[task.service_id], *response->add_tasks());
    }
  });
  return status;
}

grpc::Status ControlService::ServiceLogs(grpc::ServerContext* context,
                                         const api::LogsRequest* request,
                                         api::LogsResponse* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  Found<manager::Service> service;
  std::vector<manager::Task> tasks;
  manager.store().view([&](const ReadTx& tx) {
    service = find_service(tx, request->service());
    if (service)
      tasks = tx.tasks_of_service(service->id);
  });
  if (!service)
    return service.refusal();
  return held->hooks->collect_logs(tasks, request->tail(), *response);
}

grpc::Status ControlService::GetJoinTokens(grpc::ServerContext* context, const api::Empty*,
                                           api::JoinTokens* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  *response = held->hooks->join_tokens();
  return grpc::Status::OK;
}

grpc::Status ControlService::RotateJoinToken(grpc::ServerContext* context,
                                             const api::RotateJoinTokenRequest* request,
                                             api::JoinTokens* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto tokens = held->hooks->rotate_join_token(request->role());
  if (!tokens.ok())
    return api::to_grpc(tokens.error());
  *response = *tokens;
  return grpc::Status::OK;
}

grpc::Status ControlService::UpdateSwarm(grpc::ServerContext* context,
                                         const api::UpdateSwarmRequest* request,
                                         api::SwarmSettings* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto settings = held->hooks->update_swarm(*request);
  if (!settings.ok())
    return api::to_grpc(settings.error());
  *response = *settings;
  return grpc::Status::OK;
}

}  // namespace shoal::manager
