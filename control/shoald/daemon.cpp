#include "control/shoald/daemon.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <span>

#include "common/atomic_file.h"
#include "control/api/grpc_status.h"
#include "control/api/tls.h"
#include "control/manager/access/cert_status.h"
#include "control/manager/ca/ca_service.h"
#include "control/manager/control_api/control_backup.h"
#include "control/manager/store/sqlite_store.h"
#include "control/pki/cert_expiry.h"
#include "control/pki/join_token.h"
#include "control/shoald/advertise_addr.h"

namespace shoal::shoald {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAlreadyInSwarm =
    "This node is already part of a swarm. Use \"shoal swarm leave\" to leave this swarm and "
    "join another one.";
constexpr const char* kNotInSwarm = "This node is not part of a swarm";

class LocalService final : public api::Local::Service {
 public:
  explicit LocalService(Daemon& daemon) : daemon_(daemon) {}
  grpc::Status Info(grpc::ServerContext*, const api::Empty*, api::InfoResponse* out) override {
    return daemon_.info(*out);
  }
  grpc::Status Init(grpc::ServerContext*, const api::InitRequest* request,
                    api::InitResponse* out) override {
    return daemon_.init(*request, *out);
  }
  grpc::Status Join(grpc::ServerContext*, const api::JoinRequest* request,
                    api::JoinResponse* out) override {
    return daemon_.join(*request, *out);
  }
  grpc::Status Leave(grpc::ServerContext*, const api::LeaveRequest* request, api::Empty*) override {
    return daemon_.leave(*request);
  }
  grpc::Status Run(grpc::ServerContext* context, const api::RunRequest* request,
                   grpc::ServerWriter<api::RunOutput>* writer) override {
    return daemon_.run(*context, *request, *writer);
  }
  grpc::Status Restore(grpc::ServerContext*, const api::RestoreRequest* request,
                       api::RestoreResponse* out) override {
    return daemon_.restore(*request, *out);
  }

 private:
  Daemon& daemon_;
};

std::string node_file(const std::string& dir) {
  return dir + "/node.json";
}

// What an init, join or restore writes in the state directory...
constexpr std::array<const char*, 3> kEnrolmentParts{"/certificates", "/manager", "/node.json"};
// ...and what the agent keeps there while the node is in a swarm.
constexpr std::array<const char*, 3> kAgentParts{"/agent", "/runtime", "/gossip-keys.json"};

void remove_parts(const std::string& dir, std::span<const char* const> parts) {
  std::error_code ignored;
  for (const char* part : parts)
    fs::remove_all(dir + part, ignored);
}

// Docker's: every swarm has one, named "ingress", with the pool's first free subnet.
Status create_ingress_network(manager::ManagerRuntime& manager) {
  manager::Network ingress;
  ingress.id = manager.ids().next();
  ingress.name = "ingress";
  ingress.ingress = true;
  return manager.store().update([&](manager::WriteTx& tx) { return tx.create(ingress); });
}

Result<NodeState> load_state(const std::string& dir) {
  std::ifstream in(node_file(dir));
  if (!in)
    return sys_error("open", node_file(dir), errno);
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return invalid_argument(node_file(dir), "is not a node state file");
  }
  NodeState state;
  state.node_id = json.value("node_id", "");
  state.role = json.value("role", "worker");
  state.manager_addr = json.value("manager_addr", "");
  state.advertise_addr = json.value("advertise_addr", "");
  state.listen_addr =
      json.value("listen_addr", manager::choose_listen_addr("", "", state.advertise_addr));
  state.default_addr_pool = json.value("default_addr_pool", "10.0.0.0/8");
  state.heartbeat_ms = json.value("heartbeat_ms", uint64_t{5000});
  if (json.contains("managers") && json["managers"].is_array()) {
    for (const auto& addr : json["managers"]) {
      if (addr.is_string())
        state.managers.push_back(addr.get<std::string>());
    }
  }
  return state;
}

// The node firewall in shoald's namespace, the node's (on a real host, the root namespace).
Result<std::unique_ptr<dataplane::firewall::NodeFirewall>> open_node_firewall() {
  SHOAL_ASSIGN_OR_RETURN(auto runner, dataplane::firewall::LibnftablesRunner::open());
  return dataplane::firewall::NodeFirewall::install(std::move(runner));
}

// Node tags scope kernel names: the node id's first characters are unique enough and stable.
std::string node_tag(const std::string& node_id) {
  return node_id.substr(0, 10);
}

}  // namespace

std::string Daemon::api_addr(const std::string& advertise_addr, const std::string& listen_addr) {
  return advertise_addr + ":" + std::to_string(port_of(listen_addr, 2377));
}

Result<std::unique_ptr<Daemon>> Daemon::start(DaemonOptions options) {
  // Checked before anything is read from it or written to it (state_dir.h).
  SHOAL_ASSIGN_OR_RETURN(StateDir dir, StateDir::open(options.state_dir));
  if (dir.path() != options.state_dir)
    spdlog::info("state dir {} is {}", options.state_dir, dir.path());
  options.state_dir = dir.path();
  auto daemon = std::make_unique<Daemon>(Key{}, std::move(options));
  daemon->state_dir_.emplace(std::move(dir));
  SHOAL_TRY(daemon->resume());
  SHOAL_TRY(daemon->serve_local());
  daemon->renewal_ = std::make_unique<RenewalThread>(static_cast<CertificateHolder&>(*daemon));
  return daemon;
}

Daemon::Daemon(Key, DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() {
  renewal_.reset();  // before anything it uses goes
  {
    std::lock_guard lock(role_mutex_);
    role_changing_ = true;  // no new role change starts now
    role_stopping_ = true;
  }
  role_cv_.notify_all();
  if (role_thread_.joinable())
    role_thread_.join();
  if (local_server_)
    local_server_->Shutdown(std::chrono::system_clock::now() + 1s);
  std::lock_guard lock(mutex_);
  stop_node();
}

void Daemon::wait() {
  std::unique_lock lock(done_mutex_);
  done_cv_.wait(lock, [this] { return done_; });
}

void Daemon::shutdown() {
  {
    std::lock_guard lock(done_mutex_);
    done_ = true;
  }
  done_cv_.notify_all();
}

std::string Daemon::hostname() const {
  if (!options_.node_name.empty())
    return options_.node_name;
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

Status Daemon::serve_local() {
  constexpr const char* kSocketName = "shoald.sock";
  const auto socket = options_.state_dir + "/" + kSocketName;
  // Bound through the opened directory (/proc/self/fd/N names the directory itself, not a
  // path that could have changed since it was checked). main's umask 077 makes the socket 0700
  // at bind, so it is never wider than its final 0600.
  const auto bound_at = "/proc/self/fd/" + std::to_string(state_dir_->fd()) + "/" + kSocketName;
  if (::unlinkat(state_dir_->fd(), kSocketName, 0) != 0 && errno != ENOENT)
    return sys_error("remove the previous", socket, errno);
  local_ = std::make_unique<LocalService>(*this);
  local_control_ = std::make_unique<manager::ControlRouter>(
      [this]() -> std::shared_ptr<const manager::ManagerContext> {
        std::lock_guard lock(manager_mutex_);
        return manager_ ? manager_->context() : nullptr;
      },
      false);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + bound_at, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(static_cast<int>(manager::kMaxBackupBytes) +
                                   4096);  // Restore's file
  builder.RegisterService(local_.get());
  builder.RegisterService(local_control_.get());
  local_server_ = builder.BuildAndStart();
  if (!local_server_)
    return sys_error("listen", socket, EADDRINUSE, "cannot serve the CLI socket");
  if (::fchmodat(state_dir_->fd(), kSocketName, 0600, 0) != 0)
    return sys_error("make 0600", socket, errno);
  spdlog::info("serving the CLI on {}", socket);
  return {};
}

Status Daemon::resume() {
  auto files = pki::load_node_files(options_.state_dir);
  if (!files.ok()) {
    if (files.error().errnum == ENOENT) {
      spdlog::info("not in a swarm");
      return {};
    }
    return std::move(files).error();
  }
  if (!fs::exists(pki::identity_file(options_.state_dir))) {
    // Written before renewal existed: TLS users watch swarm-node.pem (tls.h), so write it.
    SHOAL_TRY(pki::save_node_files(options_.state_dir, *files));
  }
  SHOAL_ASSIGN_OR_RETURN(auto state, load_state(options_.state_dir));
  spdlog::info("resuming as {} {} (manager {})", state.role, state.node_id, state.manager_addr);
  if (state.role == "manager")
    SHOAL_TRY(start_manager(state, *files));
  else
    SHOAL_TRY(pki::remove_ca_key(options_.state_dir));  // a demotion interrupted, or older Shoal
  SHOAL_TRY(start_agent(state, *files));
  state_ = state;
  return {};
}

Status Daemon::save_state(const NodeState& state) {
  nlohmann::json json{
      {"node_id", state.node_id},           {"role", state.role},
      {"manager_addr", state.manager_addr}, {"advertise_addr", state.advertise_addr},
      {"listen_addr", state.listen_addr},   {"default_addr_pool", state.default_addr_pool},
      {"heartbeat_ms", state.heartbeat_ms}, {"managers", state.managers}};
  return write_file_atomically(node_file(options_.state_dir), json.dump(2) + "\n", 0644);
}

Status Daemon::start_manager(const NodeState& state, const pki::NodeFiles& files,
                             std::unique_ptr<manager::ClusterSecrets> secrets,
                             std::string etcd_initial_cluster, bool force_new_cluster) {
  manager::ManagerNodeConfig config{.state_dir = options_.state_dir,
                                    .node_id = state.node_id,
                                    .advertise_ip = state.advertise_addr,
                                    .listen_addr = state.listen_addr,
                                    .manager_addr = state.manager_addr,
                                    .runtime = {},
                                    .files = watched(files),
                                    .gossip_port = options_.gossip_port,
                                    .etcd_initial_cluster = std::move(etcd_initial_cluster),
                                    .etcd_binary = options_.etcd_binary,
                                    .force_new_cluster = force_new_cluster,
                                    .gossip_key_rotation = options_.gossip_key_rotation};
  SHOAL_ASSIGN_OR_RETURN(config.runtime.allocator.default_pool,
                         Ipv4Prefix::parse(state.default_addr_pool));
  config.runtime.heartbeat_period = std::chrono::milliseconds(state.heartbeat_ms);
  SHOAL_ASSIGN_OR_RETURN(auto manager,
                         manager::ManagerNode::start(std::move(config), std::move(secrets)));
  std::lock_guard lock(manager_mutex_);
  manager_ = std::move(manager);
  return {};
}

void Daemon::save_managers(NodeState state, const std::vector<std::string>& managers) {
  std::lock_guard lock(state_file_mutex_);
  state.managers = managers;
  if (auto saved = save_state(state); !saved.ok())
    spdlog::warn("keeping the managers' addresses: {}", saved.error().message());
}

Status Daemon::start_agent(const NodeState& state, const pki::NodeFiles& files) {
  SHOAL_ASSIGN_OR_RETURN(auto addr, Ipv4::parse(state.advertise_addr));
  auto tag = options_.node_tag.empty() ? node_tag(state.node_id) : options_.node_tag;
  SHOAL_ASSIGN_OR_RETURN(gossip_,
                         agent::GossipNode::start(state.node_id, {addr, options_.gossip_port},
                                                  options_.state_dir + "/gossip-keys.json"));
  SHOAL_ASSIGN_OR_RETURN(firewall_, open_node_firewall());
  agent::ServicePlaneConfig plane;
  plane.node_tag = tag;
  plane.node_ip = addr;
  plane.node_name = state.node_id;
  plane.backend = options_.lb_backend;
  SHOAL_ASSIGN_OR_RETURN(plane_, agent::ServicePlane::start(plane, *gossip_));
  agent::ExecutorConfig executor{
      .node_tag = tag, .advertise_addr = addr, .state_dir = options_.state_dir};
  SHOAL_ASSIGN_OR_RETURN(auto parts, agent::node_parts(executor));
  SHOAL_ASSIGN_OR_RETURN(
      executor_, agent::Executor::start(std::move(executor), *gossip_, *plane_, std::move(parts)));
  auto managers = state.managers;
  if (std::find(managers.begin(), managers.end(), state.manager_addr) == managers.end())
    managers.insert(managers.begin(), state.manager_addr);
  session_ = std::make_unique<agent::AgentSession>(
      agent::SessionConfig{
          .managers = managers,
          .files = watched(files),
          .hostname = hostname(),
          .advertise_addr = state.advertise_addr,
          .lb_backend = lb::backend_kind_name(options_.lb_backend),
          .on_managers =
              [this, state](const std::vector<std::string>& heard) { save_managers(state, heard); },
          .role = state.role,
          .on_role = [this](const std::string& role) { on_role(role); },
          .on_roots = [this](const std::string& trusted,
                             const std::string& signing) { on_roots(trusted, signing); },
          .firewall = firewall_.get()},
      *executor_, *gossip_);
  return {};
}

void Daemon::undo_enrolment() {
  stop_node();
  remove_parts(options_.state_dir, kEnrolmentParts);
}

void Daemon::stop_node() {
  session_.reset();
  std::unique_ptr<manager::ManagerNode> manager;
  {
    std::lock_guard lock(manager_mutex_);
    manager = std::move(manager_);
  }
  manager.reset();  // outside the lock: CLI calls in flight finish first
  executor_.reset();
  plane_.reset();
  gossip_.reset();
  firewall_.reset();  // its table stays: the next start adopts it
}

grpc::Status Daemon::info(api::InfoResponse& out) {
  std::lock_guard lock(mutex_);
  out.set_hostname(hostname());
  if (!state_) {
    out.set_state("inactive");
    return grpc::Status::OK;
  }
  out.set_state("active");
  out.set_node_id(state_->node_id);
  out.set_role(state_->role);
  out.set_manager_addr(state_->manager_addr);
  out.set_advertise_addr(state_->advertise_addr);
  std::lock_guard manager_lock(manager_mutex_);
  if (auto secrets = manager_ ? manager_->secrets() : nullptr)
    out.set_cluster_id(secrets->cluster_id());
  return grpc::Status::OK;
}

grpc::Status Daemon::init(const api::InitRequest& request, api::InitResponse& out) {
  std::lock_guard lock(mutex_);
  if (state_ && request.force_new_cluster())
    return force_new_cluster(out);
  if (state_)
    return api::failed_precondition(kAlreadyInSwarm);
  NodeState state;
  state.role = "manager";
  state.advertise_addr =
      request.advertise_addr().empty() ? options_.advertise_addr : request.advertise_addr();
  if (auto checked = check_advertise_addr(state.advertise_addr); !checked.ok())
    return api::invalid(checked.error().message());
  state.listen_addr = manager::choose_listen_addr(request.listen_addr(), options_.listen_addr,
                                                  state.advertise_addr);
  state.default_addr_pool =
      request.default_addr_pool().empty() ? "10.0.0.0/8" : request.default_addr_pool();
  auto pool = Ipv4Prefix::parse(state.default_addr_pool);
  if (!pool.ok())
    return api::invalid("default address pool: " + pool.error().message());
  if (pool->length() > 24) {
    return api::invalid("default address pool " + state.default_addr_pool +
                        " is smaller than one /24 subnet");
  }
  state.heartbeat_ms = request.heartbeat_ms() == 0 ? 5000 : request.heartbeat_ms();
  state.manager_addr = api_addr(state.advertise_addr, state.listen_addr);
  auto cert_expiry = pki::checked_cert_expiry(request.cert_expiry_s());
  if (!cert_expiry.ok())
    return api::invalid(cert_expiry.error().message());

  manager::SharedIds ids;
  state.node_id = ids.next();
  auto failed = [&](const Error& error) {
    undo_enrolment();
    return api::to_grpc(error, grpc::StatusCode::INTERNAL);
  };
  auto created = manager::ClusterSecrets::create(options_.state_dir, ids.next());
  if (!created.ok())
    return failed(created.error());
  auto key = pki::make_key_and_csr();
  if (!key.ok())
    return failed(key.error());
  if (auto set = (*created)->set_cert_expiry(*cert_expiry); !set.ok())
    return failed(set.error());
  auto cert = (*created)->sign(key->csr_pem,
                               {.node_id = state.node_id,
                                .role = pki::NodeRole::kManager,
                                .cluster_id = (*created)->cluster_id()},
                               {state.advertise_addr});
  if (!cert.ok())
    return failed(cert.error());
  pki::NodeFiles files{.ca_cert_pem = (*created)->trust_bundle_pem(),
                       .node_cert_pem = cert->chain_pem,
                       .node_key_pem = key->key_pem};
  if (auto saved = pki::save_node_files(options_.state_dir, files); !saved.ok())
    return failed(saved.error());
  auto tokens = (*created)->tokens();
  auto started = start_manager(state, files, std::move(*created));
  if (started.ok()) {
    std::lock_guard manager_lock(manager_mutex_);
    auto runtime = manager_->runtime();
    started = manager::register_node(*runtime, state.node_id, hostname(),
                                     *Ipv4::parse(state.advertise_addr), pki::NodeRole::kManager);
    if (started.ok())
      manager::record_certificate(*runtime, state.node_id, cert->chain_pem, cert->issuer);
    if (started.ok())
      started = create_ingress_network(*runtime);
  }
  if (started.ok())
    started = save_state(state);
  if (started.ok())
    started = start_agent(state, files);
  if (!started.ok())
    return failed(started.error());
  state_ = state;
  out.set_node_id(state.node_id);
  out.set_worker_token(tokens.worker);
  out.set_manager_addr(state.manager_addr);
  spdlog::info("swarm initialized: node {} is the manager at {}", state.node_id,
               state.manager_addr);
  return grpc::Status::OK;
}

grpc::Status Daemon::force_new_cluster(api::InitResponse& out) {
  if (state_->role != "manager") {
    return api::failed_precondition(
        "--force-new-cluster rebuilds the swarm from a manager's data: this node is a worker");
  }
  auto files = pki::load_node_files(options_.state_dir);
  if (!files.ok())
    return api::to_grpc(files.error(), grpc::StatusCode::INTERNAL);
  const bool replicated = manager::ManagerSeat::has_member_data(options_.state_dir + "/manager");
  stop_node();  // tasks keep running: the agent started below adopts them
  Status started = start_manager(*state_, *files, nullptr, {}, replicated);
  if (started.ok())
    started = start_agent(*state_, *files);
  if (!started.ok()) {
    return api::to_grpc(started.error(), grpc::StatusCode::INTERNAL);
  }
  std::shared_ptr<const manager::ClusterSecrets> secrets;
  for (int i = 0; i < 300 && !secrets; ++i) {  // its member leads once the old lease is gone
    {
      std::lock_guard manager_lock(manager_mutex_);
      auto held = manager_->context();
      if (held && held->manager != nullptr)
        secrets = held->secrets;
    }
    if (!secrets)
      std::this_thread::sleep_for(100ms);
  }
  if (!secrets)
    return {grpc::StatusCode::UNAVAILABLE, "the rebuilt manager did not come to lead in 30 s"};
  out.set_node_id(state_->node_id);
  out.set_worker_token(secrets->tokens().worker);
  out.set_manager_addr(state_->manager_addr);
  spdlog::info("a new swarm of this manager alone, from its data (--force-new-cluster)");
  return grpc::Status::OK;
}

grpc::Status Daemon::join(const api::JoinRequest& request, api::JoinResponse& out) {
  std::lock_guard lock(mutex_);
  if (state_)
    return api::failed_precondition(kAlreadyInSwarm);
  auto token = pki::parse_join_token(request.token());
  if (!token.ok())
    return api::invalid(token.error().message());
  NodeState state;
  state.manager_addr = request.remote_addr();
  if (state.manager_addr.find(':') == std::string::npos)
    state.manager_addr += ":2377";
  state.advertise_addr =
      request.advertise_addr().empty() ? options_.advertise_addr : request.advertise_addr();
  if (auto checked = check_advertise_addr(state.advertise_addr); !checked.ok())
    return api::invalid(checked.error().message());
  // First contact: fetch the root certificate and trust it only if the token names it.
  api::RootCertificate root;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    auto stub = api::Ca::NewStub(api::unverified_channel(state.manager_addr));
    auto status = stub->GetRootCertificate(&context, api::Empty{}, &root);
    if (!status.ok()) {
      return {grpc::StatusCode::UNAVAILABLE,
              "cannot reach the manager at " + state.manager_addr + ": " + status.error_message()};
    }
  }
  if (!pki::ca_matches(*token, root.pem())) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "the manager at " + state.manager_addr +
                " presents a CA that does not match the join token's fingerprint"};
  }
  auto key = pki::make_key_and_csr();
  if (!key.ok())
    return api::to_grpc(key.error(), grpc::StatusCode::INTERNAL);
  api::IssueNodeCertificateRequest issue;
  issue.set_token(request.token());
  issue.set_csr_pem(key->csr_pem);
  issue.set_hostname(hostname());
  issue.set_addr(state.advertise_addr);
  api::IssueNodeCertificateResponse issued;
  {
    grpc::ClientContext context;
    // A manager's join can wait for the store to move into etcd and for etcd to accept a member.
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    auto stub = api::Ca::NewStub(api::anonymous_channel(state.manager_addr, root.pem()));
    auto status = stub->IssueNodeCertificate(&context, issue, &issued);
    if (!status.ok())
      return status;
  }
  if (auto verified = pki::verify_issued_by(issued.cert_pem(), root.pem()); !verified.ok()) {
    return api::to_grpc(verified.error(), grpc::StatusCode::PERMISSION_DENIED);
  }
  state.node_id = issued.node_id();
  state.role = issued.role();
  if (state.role == "manager") {
    // Its own API first: it leads, or names the leader; the manager it joined through next.
    state.listen_addr = manager::choose_listen_addr(request.listen_addr(), options_.listen_addr,
                                                    state.advertise_addr);
    state.managers = {api_addr(state.advertise_addr, state.listen_addr), state.manager_addr};
    state.manager_addr = state.managers.front();
    state.default_addr_pool = issued.default_addr_pool();
    state.heartbeat_ms = issued.heartbeat_ms() == 0 ? 5000 : issued.heartbeat_ms();
    if (!Ipv4Prefix::parse(state.default_addr_pool).ok())
      return api::invalid("the manager sent no valid default address pool");
  }
  pki::NodeFiles files{
      .ca_cert_pem = root.pem(), .node_cert_pem = issued.cert_pem(), .node_key_pem = key->key_pem};
  Status started = pki::save_node_files(options_.state_dir, files);
  if (started.ok())
    started = save_state(state);
  if (started.ok() && state.role == "manager")
    started = start_manager(state, files, nullptr, issued.etcd_initial_cluster());
  if (started.ok())
    started = start_agent(state, files);
  if (!started.ok()) {
    undo_enrolment();
    return api::to_grpc(started.error(), grpc::StatusCode::INTERNAL);
  }
  state_ = state;
  out.set_node_id(state.node_id);
  out.set_role(state.role);
  spdlog::info("joined the swarm of {} as {} {}", request.remote_addr(), state.role, state.node_id);
  return grpc::Status::OK;
}

grpc::Status Daemon::leave(const api::LeaveRequest& request) {
  std::lock_guard lock(mutex_);
  if (!state_)
    return api::failed_precondition(kNotInSwarm);
  if (state_->role == "manager" && !request.force() &&
      manager::ManagerSeat::has_member_data(options_.state_dir + "/manager")) {
    return api::failed_precondition(
        "You are attempting to leave the swarm on a node that is participating as a manager. "
        "Leaving takes its member out of the managers' quorum without removing it: demote it "
        "first (shoal node demote). A swarm that has lost its quorum can be rebuilt with "
        "`shoal swarm init --force-new-cluster`. Use `--force` to ignore this message.");
  }
  if (state_->role == "manager" && !request.force()) {
    return api::failed_precondition(
        "You are attempting to leave the swarm on a node that is participating as a manager. "
        "Removing the last manager erases all current state of the swarm. Use `--force` to "
        "ignore this message.");
  }
  session_.reset();
  Status left = executor_ ? executor_->leave() : Status{};
  if (firewall_) {
    if (auto removed = firewall_->remove(); !removed.ok() && left.ok())
      left = std::move(removed);
  }
  stop_node();
  remove_parts(options_.state_dir, kEnrolmentParts);
  remove_parts(options_.state_dir, kAgentParts);
  state_.reset();
  spdlog::info("left the swarm");
  if (!left.ok())
    return api::to_grpc(left.error(), grpc::StatusCode::INTERNAL);
  return grpc::Status::OK;
}

// ---- backup and restore ----

namespace {

// A node id the backup does not use already (ids are random; this only rules out the absurd).
std::string fresh_node_id(manager::SharedIds& ids, const manager::Backup& backup) {
  for (;;) {
    auto id = ids.next();
    bool used = std::any_of(backup.objects.begin(), backup.objects.end(), [&](const auto& o) {
      return std::holds_alternative<manager::Node>(o) && manager::object_id(o) == id;
    });
    if (!used)
      return id;
  }
}

// The restored store, complete before any manager loop sees it: one transaction.
Status write_restored_store(const std::string& path, const std::vector<manager::Object>& objects) {
  SHOAL_ASSIGN_OR_RETURN(auto store, manager::SqliteStore::open(path));
  return store->update([&](manager::WriteTx& tx) -> Status {
    for (const auto& object : objects)
      SHOAL_TRY(tx.create(object));
    return {};
  });
}

// The manager's node files: a fresh key and a certificate from the restored CA.
Result<pki::NodeFiles> issue_manager_files(const pki::CertificateAuthority& ca,
                                           const NodeState& state, const std::string& cluster_id) {
  SHOAL_ASSIGN_OR_RETURN(auto key, pki::make_key_and_csr());
  SHOAL_ASSIGN_OR_RETURN(
      auto cert,
      ca.sign(key.csr_pem,
              {.node_id = state.node_id, .role = pki::NodeRole::kManager, .cluster_id = cluster_id},
              {state.advertise_addr}));
  return pki::NodeFiles{
      .ca_cert_pem = ca.cert_pem(), .node_cert_pem = cert, .node_key_pem = key.key_pem};
}

}  // namespace

Result<NodeState> Daemon::restored_state(const api::RestoreRequest& request,
                                         const manager::Backup& backup) const {
  NodeState state;
  state.role = "manager";
  state.advertise_addr =
      request.advertise_addr().empty() ? options_.advertise_addr : request.advertise_addr();
  SHOAL_TRY(check_advertise_addr(state.advertise_addr));
  state.listen_addr = manager::choose_listen_addr(request.listen_addr(), options_.listen_addr,
                                                  state.advertise_addr);
  state.default_addr_pool = backup.secrets.default_addr_pool;
  state.heartbeat_ms = backup.secrets.heartbeat_ms;
  state.manager_addr = api_addr(state.advertise_addr, state.listen_addr);
  manager::SharedIds ids;
  state.node_id = fresh_node_id(ids, backup);
  return state;
}

// Same order as init: secrets, node files, then the store (whole, before a manager loop runs on
// it), the manager, node.json and the agent. The caller cleans up after a failure.
Status Daemon::become_restored_manager(const NodeState& state, const manager::Backup& backup) {
  const auto& secrets = backup.secrets;
  SHOAL_ASSIGN_OR_RETURN(auto ca,
                         pki::CertificateAuthority::load(secrets.ca_cert_pem, secrets.ca_key_pem));
  SHOAL_ASSIGN_OR_RETURN(auto restored,
                         manager::ClusterSecrets::restore(options_.state_dir, std::move(ca),
                                                          secrets.cluster_id, secrets.tokens));
  SHOAL_ASSIGN_OR_RETURN(auto files,
                         issue_manager_files(*restored->ca(), state, secrets.cluster_id));
  SHOAL_TRY(pki::save_node_files(options_.state_dir, files));
  manager::Node self;
  self.id = state.node_id;
  self.hostname = hostname();
  self.addr = *Ipv4::parse(state.advertise_addr);
  self.role = manager::NodeRole::kManager;
  SHOAL_TRY(write_restored_store(options_.state_dir + "/manager/store.db",
                                 restored_objects(backup, std::move(self))));
  SHOAL_TRY(start_manager(state, files, std::move(restored)));
  SHOAL_TRY(save_state(state));
  return start_agent(state, files);
}

grpc::Status Daemon::restore(const api::RestoreRequest& request, api::RestoreResponse& out) {
  std::lock_guard lock(mutex_);
  if (state_)
    return api::failed_precondition(kAlreadyInSwarm);
  auto backup = manager::decode_backup(request.data());
  if (!backup.ok())
    return api::to_grpc(backup.error());
  auto state = restored_state(request, *backup);
  if (!state.ok())
    return api::to_grpc(state.error());
  auto store_path = options_.state_dir + "/manager/store.db";
  if (fs::exists(store_path)) {
    return api::failed_precondition(store_path +
                                    " is left from an earlier manager: remove it before restoring");
  }
  if (auto done = become_restored_manager(*state, *backup); !done.ok()) {
    undo_enrolment();
    spdlog::warn("swarm restore failed: {}", done.error().message());
    return api::to_grpc(done.error(), grpc::StatusCode::INTERNAL);
  }
  state_ = *state;
  out.set_node_id(state->node_id);
  out.set_worker_token(backup->secrets.tokens.worker);
  out.set_manager_addr(state->manager_addr);
  manager::fill_summary(*backup, *out.mutable_summary());
  spdlog::info("swarm {} restored from a backup of {}: node {} is the manager at {}",
               backup->secrets.cluster_id, manager::format_time(backup->created_at), state->node_id,
               state->manager_addr);
  return grpc::Status::OK;
}

}  // namespace shoal::shoald
