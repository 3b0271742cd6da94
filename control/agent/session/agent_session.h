// The agent's side of the dispatcher: one Session stream to the manager, heartbeats within the
// period the manager names, task state reports in batches, and log requests answered. The
// assignments also name the other nodes, which the gossip member joins.
//
// When the manager cannot be reached the tasks keep running (the executor does not depend on
// the session); the session retries every second, and on reconnect the agent reports the state
// of every task it has, so the manager catches up whatever it missed.
//
// With several managers the agent keeps their list (the assignments carry it, the leader's
// first; on_managers saves it): a manager that does not lead names the leader and the agent goes
// there at once; a manager that does not answer sends it to the next one of the list.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/agent/executor/executor.h"
#include "control/agent/gossip/gossip_node.h"
#include "control/pki/node_files.h"
#include "dataplane/firewall/node_firewall.h"
#include "swarm.grpc.pb.h"

namespace shoal::agent {

struct SessionConfig {
  std::vector<std::string> managers;  // IP:PORT each, the one to try first first
  pki::NodeFiles files;
  std::string hostname;
  std::string advertise_addr;
  std::string lb_backend;  // "ebpf" | "ipvs": reported to the manager for `node inspect`
  // The managers' list changed (on the session's thread).
  std::function<void(const std::vector<std::string>&)> on_managers;
  std::string role;  // this node's, as its certificate says
  // The store gives this node another role (promoted or demoted; on the session's thread).
  std::function<void(const std::string& role)> on_role;
  // The roots to trust and the one that signs, as the assignments name them (on the session's
  // thread).
  std::function<void(const std::string& trusted_pem, const std::string& signing_pem)> on_roots;
  // The node firewall, kept in step with the swarm's node list (none: not filtered).
  dataplane::firewall::OverlaySources* firewall = nullptr;
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
  // The manager the session goes to (the leader, while connected).
  std::string current_manager() const;
  // Ends the session and opens it again over a new connection: after a renewal, so that the
  // manager sees the new certificate (the replaced one is revoked after a grace).
  void reconnect();

 private:
  void run();
  // Whether it ended on a refusal naming the leader (go there at once).
  bool run_session(api::Dispatcher::Stub& stub);
  void tick(api::Dispatcher::Stub& stub, const std::string& session_id);
  void handle(api::Dispatcher::Stub& stub, const api::Assignments& assignments);
  void sleep_for(std::chrono::milliseconds duration);
  // Where the next session goes: the leader a refusal named, else the next manager.
  void choose_next(const grpc::ClientContext& context);
  void learn_managers(const api::Assignments& assignments);

  SessionConfig config_;
  Executor& executor_;
  GossipNode& gossip_;
  std::atomic<bool> connected_ = false;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::string> managers_;
  size_t current_ = 0;
  grpc::ClientContext* stream_context_ = nullptr;  // to cancel the open stream on stop
  bool new_connection_ = false;                    // reconnect(): the next session dials afresh
  std::thread thread_;
};

}  // namespace shoal::agent
