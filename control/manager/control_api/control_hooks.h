// What the manager's API servers need from the manager around the store: the cluster secrets,
// the managers' membership (etcd) and the leader. ManagerNode implements it; unit tests of the
// servers give a fake (tests/support/fake_control_hooks.h).
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/manager/backup/backup.h"
#include "control/manager/rules/types.h"
#include "swarm.pb.h"

namespace shoal::manager {

class ControlHooks {
 public:
  virtual ~ControlHooks() = default;

  virtual api::JoinTokens join_tokens() = 0;
  virtual Result<api::JoinTokens> rotate_join_token(const std::string& role) = 0;
  virtual Result<api::SwarmSettings> update_swarm(const api::UpdateSwarmRequest& request) = 0;
  virtual std::string leader_node_id() = 0;
  // Manager node id -> "Leader" | "Reachable" | "Unreachable".
  virtual std::map<std::string, std::string> manager_statuses() = 0;
  // The CA's join of a manager: makes room for it in the managers' store (its etcd member);
  // returns the cluster list that member starts with. Called holding no runtime.
  virtual Result<std::string> add_manager(const std::string& node_id, const std::string& addr) = 0;
  // Demotion or removal of a manager: takes its member out of the managers' store, refused
  // (without `force`) when the managers left reachable would not be a quorum.
  virtual Status remove_manager(const std::string& node_id, const std::string& addr,
                                bool force) = 0;
  // Whether that removal would be refused, without doing it.
  virtual Status check_manager_removal(const std::string& node_id, const std::string& addr) = 0;
  // Whether the managers' store has a quorum, as this manager's member sees it.
  virtual bool store_has_quorum() = 0;
  // Collects the log lines of these tasks from their nodes.
  virtual grpc::Status collect_logs(const std::vector<manager::Task>& tasks, uint32_t tail,
                                    api::LogsResponse& response) = 0;
  // The CA, cluster id, tokens and swarm options a backup carries beside the store.
  virtual Result<BackupSecrets> backup_secrets() = 0;
};

}  // namespace shoal::manager
