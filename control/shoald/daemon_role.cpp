// A node promoted or demoted while it runs: `node promote/demote` change its role in the store,
// its agent sees that in its assignments, and the node renews its certificate for the new role
// with the leader and restarts itself in it: a promoted node starts an etcd member (the leader
// added it when signing) and its manager; a demoted one stops its manager and deletes its store
// (the leader already took its member out). Tasks keep running across the restart and are
// adopted, as after a restart of shoald.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "control/api/tls.h"
#include "control/shoald/daemon.h"

namespace shoal::shoald {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void Daemon::on_role(const std::string& role) {
  std::lock_guard lock(role_mutex_);
  if (role_changing_) {
    return;  // one at a time; the assignments say it again if still needed
  }
  role_changing_ = true;
  if (role_thread_.joinable()) {
    role_thread_.join();  // the previous change, finished
  }
  role_thread_ = std::thread([this, role] {
    // Until it takes: the renewal fails while the agent's manager is not the leader, and the
    // assignments do not say the role again.
    while (!change_role(role)) {
      std::unique_lock wait(role_mutex_);
      if (role_cv_.wait_for(wait, 2s, [this] { return role_stopping_; }))
        break;
    }
    std::lock_guard done(role_mutex_);
    role_changing_ = false;
  });
}

bool Daemon::change_role(const std::string& role) {
  std::lock_guard lock(mutex_);
  if (!state_ || state_->role == role) {
    return true;
  }
  if (!session_) {
    return false;
  }
  spdlog::info("this node's role is now {}: renewing its certificate", role);
  auto key = pki::make_key_and_csr();
  if (!key.ok()) {
    spdlog::warn("role change: {}", key.error().message());
    return false;
  }
  api::RenewNodeCertificateRequest request;
  request.set_csr_pem(key->csr_pem);
  api::IssueNodeCertificateResponse issued;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 60s);
  auto stub = api::Ca::NewStub(session_->manager_channel());
  if (auto status = stub->RenewNodeCertificate(&context, request, &issued); !status.ok()) {
    spdlog::warn("role change to {}: {} (retried)", role, status.error_message());
    return false;
  }
  auto files = pki::load_node_files(options_.state_dir);
  if (!files.ok()) {
    spdlog::warn("role change: {}", files.error().message());
    return false;
  }
  files->node_cert_pem = issued.cert_pem();
  files->node_key_pem = key->key_pem;
  NodeState next = *state_;
  next.role = issued.role();
  if (next.role == "manager") {
    if (next.listen_addr.empty())  // a worker never listened
      next.listen_addr = manager::choose_listen_addr("", options_.listen_addr, next.advertise_addr);
    next.manager_addr = api_addr(next.advertise_addr, next.listen_addr);
    next.default_addr_pool = issued.default_addr_pool();
    next.heartbeat_ms = issued.heartbeat_ms() == 0 ? next.heartbeat_ms : issued.heartbeat_ms();
  } else {
    next.manager_addr = session_->current_manager();
  }
  restart_as(next, *files, issued.etcd_initial_cluster());
  return true;  // a restart that failed is logged; a restart of shoald retries it
}

void Daemon::restart_as(const NodeState& next, const pki::NodeFiles& files,
                        const std::string& etcd_initial_cluster) {
  stop_node();  // tasks keep running: the agent started next adopts them
  if (next.role != "manager") {
    std::error_code ec;
    fs::remove_all(options_.state_dir + "/manager", ec);  // its member is out of the cluster
    if (auto removed = pki::remove_ca_key(options_.state_dir); !removed.ok())
      spdlog::error("demoted: {}", removed.error().message());
  }
  Status started = pki::save_node_files(options_.state_dir, files);
  if (started.ok())
    started = save_state(next);
  api::start_new_connections();  // the parts started next present the new certificate
  if (started.ok() && next.role == "manager") {
    // Its agent runs either way; a restart of shoald retries the manager from node.json.
    if (auto manager = start_manager(next, files, nullptr, etcd_initial_cluster); !manager.ok())
      spdlog::error("role change: the manager does not start: {}", manager.error().message());
  }
  if (started.ok())
    started = start_agent(next, files);
  if (!started.ok()) {
    spdlog::error("role change to {}: {}", next.role, started.error().message());
    return;
  }
  state_ = next;
  spdlog::info("this node runs as a {} now", next.role);
}

}  // namespace shoal::shoald
