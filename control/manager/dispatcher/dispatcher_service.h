// The dispatcher: the manager's side of every agent. An agent opens a Session (a server stream)
// and receives, whole, everything it should run each time that changes; it heartbeats within
// the period the manager names and reports task states in batches. Logs for `service logs` ride
// the same stream: the manager asks, the agent publishes.
//
// What a node certificate can do here is bounded, since a node may misbehave or its
// certificate leak: StartRun, EndRun, UpdateTaskStatus and PublishLogs need a node that is
// still in the store (PERMISSION_DENIED after `node rm`); a node reports only on its own tasks
// and publishes logs only for the tasks a live subscription asked it about; messages, log
// lines and runs are capped (the constants below and kMaxStandaloneRunsPerNode).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "control/manager/access/join_limiter.h"
#include "control/manager/loop/manager_runtime.h"
#include "control/pki/identity.h"
#include "swarm.grpc.pb.h"

namespace shoal::manager {

// A task's status message (an error shown in `service ps`) is cut to this.
inline constexpr size_t kMaxTaskMessageBytes = 1024;
// `service logs`: a line is cut to 16 KiB (Docker splits lines there), one node's answer to
// 4 MiB, the whole answer to 100,000 lines and 32 MiB; beyond, the rest is dropped.
inline constexpr size_t kMaxLogLineBytes = 16 * 1024;
inline constexpr size_t kMaxLogBytesPerNode = 4 * 1024 * 1024;
inline constexpr size_t kMaxLogBytes = 32 * 1024 * 1024;
inline constexpr size_t kMaxLogLines = 100000;

class DispatcherService final : public api::Dispatcher::Service {
 public:
  // Fills in what only the cluster secrets know: the gossip keys, the one to seal with first
  // (rotated by the caller when due), and the roots to trust and the one that signs.
  using SecretsSource = std::function<void(api::Assignments&)>;
  // `leader_id` and `manager_port` name the managers in the assignments (every manager serves
  // its API on the same port as the leader).
  DispatcherService(ManagerRuntime& manager, uint16_t gossip_port, SecretsSource secrets,
                    std::string leader_id = {}, uint16_t manager_port = 2377);
  ~DispatcherService() override;

  grpc::Status Session(grpc::ServerContext*, const api::SessionRequest*,
                       grpc::ServerWriter<api::Assignments>*) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const api::HeartbeatRequest*,
                         api::HeartbeatResponse*) override;
  grpc::Status StartRun(grpc::ServerContext*, const api::StartRunRequest*,
                        api::StartRunResponse*) override;
  grpc::Status EndRun(grpc::ServerContext*, const api::IdRequest*, api::Empty*) override;
  grpc::Status UpdateTaskStatus(grpc::ServerContext*, const api::UpdateTaskStatusRequest*,
                                api::Empty*) override;
  grpc::Status PublishLogs(grpc::ServerContext*, const api::PublishLogsRequest*,
                           api::Empty*) override;

  // Asks the nodes running these tasks for their logs and waits (bounded) for the answers.
  grpc::Status collect_logs(const std::vector<manager::Task>& tasks, uint32_t tail,
                            api::LogsResponse& response);

  // Ends every session (the server is shutting down).
  void stop();

 private:
  struct LogRequest {
    std::map<std::string, std::vector<std::string>> tasks_by_node;
    uint32_t tail = 0;
    std::set<std::string> answered;  // nodes
    std::vector<api::LogLine> lines;
    size_t bytes = 0;  // of the lines' text
  };

  api::Assignments assignments_for(const std::string& node_id);
  grpc::Status register_session(const std::string& node_id, const api::SessionRequest& request,
                                std::string& session_id);
  // A node certificate whose node is still in the store.
  grpc::Status require_member(const grpc::ServerContext& context, pki::NodeIdentity& who);
  // One node's answer to a log subscription, checked and capped. Called with mutex_ held.
  static grpc::Status accept_logs(LogRequest& pending, const std::string& node_id,
                                  const api::PublishLogsRequest& request);
  bool session_valid(const std::string& node_id, const std::string& session_id);

  ManagerRuntime& manager_;
  uint16_t gossip_port_;
  SecretsSource secrets_;
  std::string leader_id_;
  uint16_t manager_port_;
  manager::Store::WatchId watch_id_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;  // bumped by every store commit and log request
  bool stopping_ = false;
  std::map<std::string, std::string> sessions_;     // node id -> current session id
  std::map<std::string, LogRequest> log_requests_;  // by subscription id
  LogThrottle session_refusals_;  // an agent retries every second: one line per interval
};

}  // namespace shoal::manager
