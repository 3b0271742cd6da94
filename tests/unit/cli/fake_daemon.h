// A narrow in-process stand-in for shoald: Local and Control on a unix socket in a temp dir,
// with nodes, networks, services and tasks in memory. It records each call and the requests
// the CLI sent, so tests can check what the real `shoal` binary asked for.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "swarm.grpc.pb.h"

namespace shoal::cli::testing {

struct FakeState {
  std::string self_id;  // Info's node_id
  std::vector<api::Node> nodes;
  std::vector<api::Network> networks;
  std::vector<api::Service> services;
  std::vector<api::Task> tasks;
  api::JoinTokens tokens;

  // What the CLI asked for.
  std::vector<std::string> calls;  // "Control.ListNodes", ...
  api::InitRequest last_init;
  api::JoinRequest last_join;
  api::ServiceSpec last_create;
  api::UpdateServiceRequest last_update;
  api::UpdateNodeRequest last_node_update;
  api::CreateNetworkRequest last_network;
  api::LogsRequest last_logs;

  // Behaviour knobs.
  std::string fail_with;          // non-empty: every Control call fails INVALID_ARGUMENT with it
  bool advance_tasks = true;      // each ListTasks moves every live task one state on
  bool first_task_fails = false;  // the first task created fails once on its way up
  int64_t now_ms = 0;             // updated_unix_ms for tasks the fake changes
  int counter = 0;
};

class FakeDaemon {
 public:
  FakeDaemon();  // starts serving; a couple of nodes, the ingress network, no services
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  std::string host() const { return "unix://" + socket_; }
  const std::string& dir() const { return dir_; }

  // Runs `fn` on the state under the lock.
  template <typename Fn>
  auto with(Fn fn) {
    std::lock_guard lock(mu_);
    return fn(state_);
  }

  // Adds a service with `replicas` tasks already running (slot i on nodes round-robin).
  std::string add_service(const std::string& name, uint64_t replicas,
                          const std::string& mode = "replicated");

  std::mutex mu_;
  FakeState state_;

 private:
  std::string dir_;
  std::string socket_;
  std::unique_ptr<api::Local::Service> local_;
  std::unique_ptr<api::Control::Service> control_;
  std::unique_ptr<grpc::Server> server_;
};

// Makes a task of `service` in `slot` on `node` (used by the fake and by tests).
api::Task make_task(FakeState& state, const api::Service& service, uint64_t slot,
                    const std::string& node, const std::string& task_state);

}  // namespace shoal::cli::testing
