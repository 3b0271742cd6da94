#include "control/manager/control_api/control_configs.h"

#include "control/api/convert.h"
#include "control/api/grpc_status.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/control_api/lookup.h"
#include "control/manager/rules/configs.h"

namespace shoal::manager {

using manager::ReadTx;
using manager::WriteTx;

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

grpc::Status resolve_config_references(const ReadTx& tx,
                                       std::vector<manager::ConfigReference>& refs) {
  for (auto& ref : refs) {
    const std::string& wanted = ref.config_id.empty() ? ref.config_name : ref.config_id;
    auto config = find_config(tx, wanted);
    if (!config)
      return config.refusal();
    ref.config_id = config->id;
    ref.config_name = config->name;
    if (ref.target.empty())
      ref.target = "/" + config->name;
    if (ref.mode == 0)
      ref.mode = 0444;
  }
  if (auto valid = manager::validate_config_references(refs); !valid.ok())
    return api::to_grpc(valid.error());
  return grpc::Status::OK;
}

grpc::Status ControlService::CreateConfig(grpc::ServerContext* context,
                                          const api::CreateConfigRequest* request,
                                          api::Config* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  manager::Config config;
  config.name = request->name();
  config.data = request->data();
  config.labels.insert(request->labels().begin(), request->labels().end());
  config.created_at = manager::Clock::now();
  if (auto valid = manager::validate_config(config); !valid.ok())
    return api::to_grpc(valid.error());
  std::lock_guard lock(manager.control_mutex());
  bool exists = false;
  manager.store().view(
      [&](const ReadTx& tx) { exists = tx.config_by_name(config.name).has_value(); });
  if (exists) {
    return {grpc::StatusCode::ALREADY_EXISTS, "config " + config.name + " already exists"};
  }
  config.id = manager.ids().next();
  if (auto written = manager.store().update([&](WriteTx& tx) { return tx.create(config); });
      !written.ok()) {
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  }
  api::to_proto(config, false, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::ListConfigs(grpc::ServerContext* context, const api::Empty*,
                                         api::ListConfigsResponse* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  held->manager->store().view([&](const ReadTx& tx) {
    for (const auto& config : tx.configs())
      api::to_proto(config, false, *response->add_configs());
  });
  return grpc::Status::OK;
}

grpc::Status ControlService::GetConfig(grpc::ServerContext* context, const api::IdRequest* request,
                                       api::Config* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  Found<manager::Config> config;
  held->manager->store().view([&](const ReadTx& tx) { config = find_config(tx, request->id()); });
  if (!config)
    return config.refusal();
  api::to_proto(*config, true, *response);
  return grpc::Status::OK;
}

grpc::Status ControlService::RemoveConfig(grpc::ServerContext* context,
                                          const api::IdRequest* request, api::Empty*) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto& manager = *held->manager;
  std::lock_guard lock(manager.control_mutex());
  Found<manager::Config> config;
  std::vector<std::string> users;
  manager.store().view([&](const ReadTx& tx) {
    config = find_config(tx, request->id());
    if (config)
      users = manager::services_using_config(tx, config->id);
  });
  if (!config)
    return config.refusal();
  if (!users.empty()) {
    // Docker's words: "config 'x' is in use by the following service: y".
    return api::failed_precondition("config '" + config->name +
                                    "' is in use by the following service" +
                                    (users.size() > 1 ? "s" : "") + ": " + joined(users));
  }
  if (auto written =
          manager.store().update([&](WriteTx& tx) { return tx.remove_config(config->id); });
      !written.ok()) {
    return api::to_grpc(written.error(), grpc::StatusCode::ABORTED);
  }
  return grpc::Status::OK;
}

}  // namespace shoal::manager
