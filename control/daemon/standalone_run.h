// `shoal run` on the manager. A standalone process is a hidden service of one task: pinned to
// the node that asked, on one attachable network, never restarted, named in DNS like a service
// (dnsrr: its name is its address), and removed with its addresses once its task has ended.
// Reusing the service machinery keeps one path for allocation, scheduling and the agent.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "control/daemon/manager_runtime.h"
#include "swarm.pb.h"

namespace shoal::daemon {

grpc::Status start_standalone_run(ManagerRuntime& manager, const std::string& node_id,
                                  const api::StartRunRequest& request,
                                  api::StartRunResponse& response);
// Only the node that started a run may end it.
grpc::Status end_standalone_run(ManagerRuntime& manager, const std::string& node_id,
                                const std::string& run_id);
// Within a task report's write: the run whose task has just ended goes with it.
Status remove_ended_run(manager::WriteTx& tx, const manager::Task& task);

}  // namespace shoal::daemon
