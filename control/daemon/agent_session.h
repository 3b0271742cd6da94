// The agent's side of the dispatcher: one Session stream to the manager, heartbeats within the
// period the manager names, task state reports in batches, and log requests answered. The
// assignments also name the other nodes, which the gossip member joins.
//
// When the manager cannot be reached the tasks keep running (the executor does not depend on
// the session); the session retries every second, and on reconnect the agent reports the state
// of every task it has, so the manager catches up whatever it missed.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "control/daemon/executor.h"
#include "control/pki/node_files.h"
#include "swarm.grpc.pb.h"

namespace shoal::daemon {

struct SessionConfig {
  std::string manager_addr;  // IP:PORT
  pki::NodeFiles files;
  std::string hostname;
  std::string advertise_addr;
  std::string lb_backend;  // "ebpf" | "ipvs": reported to the manager for `node inspect`
};

class AgentSession {
 public:
  AgentSession(SessionConfig config, Executor& executor, GossipNode& gossip);
  ~AgentSession();
  AgentSession(const AgentSession&) = delete;
  AgentSession& operator=(const AgentSession&) = delete;

  bool connected() const { return connected_; }
  // A channel to the manager with this node's certificate, for calls beside the session.
  std::shared_ptr<grpc::Channel> manager_channel() const;

 private:
  void run();
  void run_session(api::Dispatcher::Stub& stub);
  void tick(api::Dispatcher::Stub& stub, const std::string& session_id);
  void handle(api::Dispatcher::Stub& stub, const api::Assignments& assignments);
  void sleep_for(std::chrono::milliseconds duration);

  SessionConfig config_;
  Executor& executor_;
  GossipNode& gossip_;
  std::atomic<bool> connected_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* stream_context_ = nullptr;  // to cancel the open stream on stop
  std::thread thread_;
};

}  // namespace shoal::daemon
