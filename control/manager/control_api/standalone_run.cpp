#include "control/manager/control_api/standalone_run.h"

#include <algorithm>
#include <mutex>

#include "control/api/grpc_status.h"
#include "control/manager/control_api/lookup.h"
#include "control/manager/rules/validation.h"

namespace shoal::manager {
namespace {

std::string pinned_to(const std::string& node_id) {
  return "node.id==" + node_id;
}

bool started_by(const manager::Service& service, const std::string& node_id) {
  return service.spec.standalone_run && service.spec.constraints.size() == 1 &&
         service.spec.constraints.front() == pinned_to(node_id);
}

size_t live_runs(const manager::ReadTx& tx, const std::string& node_id) {
  auto services = tx.services();
  return static_cast<size_t>(std::count_if(services.begin(), services.end(),
                                           [&](const auto& s) { return started_by(s, node_id); }));
}

// The service that answers `name` in DNS on the network as one of its aliases, if any: a run
// of that name would take the name from it.
std::optional<std::string> alias_holder(const manager::ReadTx& tx, const std::string& network_id,
                                        const std::string& name) {
  for (const auto& service : tx.services()) {
    auto aliases = service.spec.network_aliases.find(network_id);
    if (aliases != service.spec.network_aliases.end() &&
        std::find(aliases->second.begin(), aliases->second.end(), name) != aliases->second.end()) {
      return service.spec.name;
    }
  }
  return std::nullopt;
}

grpc::Status name_free(const manager::ReadTx& tx, const std::string& network_id,
                       const std::string& name) {
  if (auto same = tx.service_by_name(name)) {
    return {grpc::StatusCode::ALREADY_EXISTS,
            "the name " + name + " is already in use by " +
                (same->spec.standalone_run ? "a running process" : "a service")};
  }
  if (auto holder = alias_holder(tx, network_id, name)) {
    return {grpc::StatusCode::ALREADY_EXISTS,
            "the name " + name + " is already in use as an alias of service " + *holder};
  }
  return grpc::Status::OK;
}

grpc::Status run_spec(const manager::ReadTx& tx, const std::string& node_id,
                      const api::StartRunRequest& request, manager::ServiceSpec& spec) {
  if (request.command().empty())
    return api::invalid("run: no command given (shoal run --network NET -- CMD [ARG...])");
  if (auto running = live_runs(tx, node_id); running >= kMaxStandaloneRunsPerNode) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "node " + node_id + " already runs " + std::to_string(running) +
                " processes started with shoal run, the most a node may: end one first"};
  }
  auto network = find_network(tx, request.network());
  if (!network)
    return network.refusal();
  if (!network->attachable || network->ingress) {
    return api::failed_precondition(
        "network " + network->name +
        " is not attachable: only services can use it (create a network "
        "with --attachable for standalone processes)");
  }
  spec.name = request.name();
  spec.command.assign(request.command().begin(), request.command().end());
  spec.env.assign(request.env().begin(), request.env().end());
  spec.replicas = 1;
  spec.networks = {network->id};
  spec.endpoint_mode = manager::EndpointMode::kDnsrr;
  spec.constraints = {pinned_to(node_id)};
  spec.restart.condition = manager::RestartCondition::kNone;
  spec.standalone_run = true;
  return spec.name.empty() ? grpc::Status::OK : name_free(tx, network->id, spec.name);
}

}  // namespace

grpc::Status start_standalone_run(ManagerRuntime& manager, const std::string& node_id,
                                  const api::StartRunRequest& request,
                                  api::StartRunResponse& response) {
  std::lock_guard lock(manager.control_mutex());
  manager::Service service;
  service.id = manager.ids().next();
  service.spec_version = 1;
  grpc::Status status;
  manager.store().view(
      [&](const manager::ReadTx& tx) { status = run_spec(tx, node_id, request, service.spec); });
  if (service.spec.name.empty())
    service.spec.name = "run-" + service.id.substr(0, 10);
  if (!status.ok())
    return status;
  if (auto valid = manager::validate_service_spec(service.spec); !valid.ok())
    return api::to_grpc(valid.error());
  auto written = manager.store().update([&](manager::WriteTx& tx) { return tx.create(service); });
  if (!written.ok())
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  response.set_run_id(service.id);
  response.set_name(service.spec.name);
  return grpc::Status::OK;
}

grpc::Status end_standalone_run(ManagerRuntime& manager, const std::string& node_id,
                                const std::string& run_id) {
  std::lock_guard lock(manager.control_mutex());
  auto written = manager.store().update([&](manager::WriteTx& tx) -> Status {
    auto service = tx.get_service(run_id);
    if (!service || !started_by(*service, node_id))
      return {};  // already gone (it ended by itself), or not this node's to end
    return tx.remove_service(run_id);
  });
  if (!written.ok())
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  return grpc::Status::OK;
}

Status remove_ended_run(manager::WriteTx& tx, const manager::Task& task) {
  if (!manager::is_terminal(task.observed))
    return {};
  auto service = tx.get_service(task.service_id);
  if (!service || !service->spec.standalone_run)
    return {};
  return tx.remove_service(service->id);
}

}  // namespace shoal::manager
