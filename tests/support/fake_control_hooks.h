// A manager around the store for unit tests of the API servers: fixed answers, set per test.
#pragma once

#include <optional>
#include <string>

#include "control/manager/control_api/control_hooks.h"

namespace shoal::testing {

class FakeControlHooks final : public manager::ControlHooks {
 public:
  std::string leader = "leader0000000000000000000";
  std::string worker_token = "W";
  std::string manager_token = "M";
  // What the managers' store says to a new member (add_manager); empty: welcome.
  std::string manager_refusal;
  // What a backup carries beside the store; none: the manager cannot say (an error).
  std::optional<manager::BackupSecrets> secrets;

  api::JoinTokens join_tokens() override {
    api::JoinTokens tokens;
    tokens.set_worker(worker_token);
    tokens.set_manager(manager_token);
    return tokens;
  }
  Result<api::JoinTokens> rotate_join_token(const std::string&) override { return join_tokens(); }
  Result<api::SwarmSettings> update_swarm(const api::UpdateSwarmRequest&) override {
    return api::SwarmSettings();
  }
  std::string leader_node_id() override { return leader; }
  std::map<std::string, std::string> manager_statuses() override { return {}; }
  Result<std::string> add_manager(const std::string& node_id, const std::string& addr) override {
    if (!manager_refusal.empty())
      return Error{.op = "add", .object = "manager " + node_id, .detail = manager_refusal};
    return node_id + "=https://" + addr + ":2380";
  }
  Status remove_manager(const std::string&, const std::string&, bool) override { return {}; }
  Status check_manager_removal(const std::string&, const std::string&) override { return {}; }
  bool store_has_quorum() override { return true; }
  grpc::Status collect_logs(const std::vector<manager::Task>&, uint32_t,
                            api::LogsResponse&) override {
    return grpc::Status::OK;
  }
  Result<manager::BackupSecrets> backup_secrets() override {
    if (!secrets)
      return Error{.op = "back up", .object = "swarm", .detail = "no secrets in this test"};
    return *secrets;
  }
};

}  // namespace shoal::testing
