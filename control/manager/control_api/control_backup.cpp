// Control.Backup: the store in one view plus the manager's secrets, as a backup file's bytes.
#include "control/manager/control_api/control_backup.h"

#include <algorithm>
#include <chrono>

#include "control/api/grpc_status.h"
#include "control/manager/control_api/control_service.h"

namespace shoal::manager {

namespace {

std::vector<manager::Object> all_objects(const manager::ReadTx& tx) {
  std::vector<manager::Object> out;
  for (auto& node : tx.nodes())
    out.emplace_back(std::move(node));
  for (auto& network : tx.networks())
    out.emplace_back(std::move(network));
  for (auto& config : tx.configs())
    out.emplace_back(std::move(config));
  for (auto& service : tx.services())
    out.emplace_back(std::move(service));
  for (auto& task : tx.tasks())
    out.emplace_back(std::move(task));
  return out;
}

// The store interface has no index; the newest object's version is the last commit that left
// something behind, which is what a reader of the file wants to compare.
uint64_t newest_version(const std::vector<manager::Object>& objects) {
  uint64_t newest = 0;
  for (const auto& object : objects)
    newest = std::max(newest, std::visit([](const auto& o) { return o.version; }, object));
  return newest;
}

}  // namespace

void fill_summary(const Backup& backup, api::BackupSummary& out) {
  auto counts = count_objects(backup.objects);
  out.set_cluster_id(backup.secrets.cluster_id);
  out.set_created_at(format_time(backup.created_at));
  out.set_nodes(static_cast<uint32_t>(counts.nodes));
  out.set_networks(static_cast<uint32_t>(counts.networks));
  out.set_services(static_cast<uint32_t>(counts.services));
  out.set_tasks(static_cast<uint32_t>(counts.tasks));
  out.set_configs(static_cast<uint32_t>(counts.configs));
}

grpc::Status ControlService::Backup(grpc::ServerContext* context, const api::Empty*,
                                    api::BackupData* response) {
  std::shared_ptr<const ManagerContext> held;
  if (auto status = hold(*context, held); !status.ok())
    return status;
  auto secrets = held->hooks->backup_secrets();
  if (!secrets.ok())
    return api::to_grpc(secrets.error(), grpc::StatusCode::INTERNAL);
  manager::Backup backup;
  backup.secrets = std::move(*secrets);
  backup.created_at = std::chrono::system_clock::now();
  held->manager->store().view([&](const manager::ReadTx& tx) { backup.objects = all_objects(tx); });
  backup.store_index = newest_version(backup.objects);
  auto data = encode_backup(backup);
  if (data.size() > kMaxBackupBytes) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "the backup would be " + std::to_string(data.size() >> 20) + " MiB, more than the " +
                std::to_string(kMaxBackupBytes >> 20) + " MiB a backup may hold"};
  }
  response->set_data(std::move(data));
  fill_summary(backup, *response->mutable_summary());
  return grpc::Status::OK;
}

}  // namespace shoal::manager
