// `shoal run` on the manager. A standalone process is a hidden service of one task: pinned to
// the node that asked, on one attachable network, never restarted, named in DNS like a service
// (dnsrr: its name is its address), and removed with its addresses once its task has ended.
// Reusing the service machinery keeps one path for allocation, scheduling and the agent.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "control/manager/loop/manager_runtime.h"
#include "swarm.pb.h"

namespace shoal::manager {

// Live `shoal run` processes one node may have; StartRun beyond it is RESOURCE_EXHAUSTED. A
// node certificate is all it takes to start a run, and each run is a service, a task and
// addresses on the manager: a node that misbehaves (or whose certificate leaked) must not fill
// the store. 32 is far above what `shoal run` is for (a shell, a one-off job).
inline constexpr size_t kMaxStandaloneRunsPerNode = 32;

// The caller is a node of the store (the dispatcher checks it). Refused: no command, the node
// at its run limit, a network that is missing, ambiguous or not attachable, a name taken by a
// service, a run or an alias on that network.
grpc::Status start_standalone_run(ManagerRuntime& manager, const std::string& node_id,
                                  const api::StartRunRequest& request,
                                  api::StartRunResponse& response);
// Only the node that started a run may end it.
grpc::Status end_standalone_run(ManagerRuntime& manager, const std::string& node_id,
                                const std::string& run_id);
// Within a task report's write: the run whose task has just ended goes with it.
Status remove_ended_run(manager::WriteTx& tx, const manager::Task& task);

}  // namespace shoal::manager
