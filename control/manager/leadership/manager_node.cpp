#include "control/manager/leadership/manager_node.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "control/api/tls.h"
#include "control/manager/access/cert_status.h"
#include "control/manager/ca/ca_service.h"
#include "control/manager/dispatcher/dispatcher_service.h"
#include "control/manager/leadership/listen_addr.h"
#include "control/pki/ca.h"
#include "control/pki/cert_expiry.h"

namespace shoal::manager {

using namespace std::chrono_literals;

namespace {

constexpr auto kRevocationsCheckPeriod = std::chrono::seconds(1);
constexpr auto kRevocationsRepublish = std::chrono::hours(24);
constexpr auto kRevocationListValidity = std::chrono::hours(24 * 7);

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a member starts with until it follows the leader's list: an empty one. Signed by the
// swarm's root when this manager holds it; a manager that joins holds it only later, and etcd
// reads the serials of a CRL, never its signature (checked with etcd 3.4), so a key made for
// this list alone signs it then.
std::string initial_revocation_list(const ClusterSecrets* secrets) {
  std::shared_ptr<const pki::CertificateAuthority> ca = secrets ? secrets->ca() : nullptr;
  if (!ca) {
    auto made = pki::CertificateAuthority::create();
    if (made.ok())
      ca = std::make_shared<const pki::CertificateAuthority>(std::move(*made));
  }
  auto crl = ca ? ca->revocation_list({}, kRevocationListValidity)
                : Result<std::string>(Error{"make", "a key for the revocation list", 0, {}});
  if (!crl.ok()) {
    spdlog::error("etcd runs without a revocation list: {}", crl.error().message());
    return {};
  }
  return *crl;
}

}  // namespace

Result<std::unique_ptr<ManagerNode>> ManagerNode::start(ManagerNodeConfig config,
                                                        std::unique_ptr<ClusterSecrets> secrets) {
  std::unique_ptr<ManagerNode> node(new ManagerNode(std::move(config)));
  if (!secrets) {
    auto loaded = ClusterSecrets::load(node->config_.state_dir);
    if (loaded.ok()) {
      secrets = std::move(*loaded);
    } else if (loaded.error().errnum != ENOENT) {
      return std::move(loaded).error();
    }
  }
  node->secrets_ = std::move(secrets);
  node->channels_ = std::make_shared<LeaderChannels>(node->config_.files);
  SHOAL_TRY(node->open_seat());
  node->refresh();
  SHOAL_TRY(node->serve());
  return node;
}

ManagerNode::~ManagerNode() {
  seat_->set_listener({});
  if (auto held = context(); held && held->dispatcher != nullptr) {
    held->dispatcher->stop();  // ends the agents' sessions, so the server stops at once
  }
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }
  {
    std::lock_guard lock(mutex_);
    context_.reset();
  }
  seat_.reset();  // resigns: another manager leads within one poll
}

Status ManagerNode::open_seat() {
  SeatConfig seat{.node_id = config_.node_id,
                  .dir = config_.state_dir + "/manager",
                  .runtime = config_.runtime,
                  .advertise_ip = config_.advertise_ip,
                  .manager_addr = config_.manager_addr,
                  .tls = {.ca_pem = config_.files.ca_cert_pem,
                          .cert_pem = config_.files.node_cert_pem,
                          .key_pem = config_.files.node_key_pem},
                  .etcd_binary = config_.etcd_binary};
  seat.tls.crl_pem = initial_revocation_list(secrets_.get());
  if (!config_.files.watch_dir.empty()) {  // renewed certificates reach etcd without a restart
    seat.tls.credentials = api::node_credentials(config_.files);
    seat.tls.identity_file = pki::identity_file(config_.files.watch_dir);
  }
  if (config_.force_new_cluster) {
    SHOAL_TRY(ManagerSeat::rebuild_alone(seat));
    demote_others_ = true;
  }
  if (ManagerSeat::has_member_data(seat.dir) || !config_.etcd_initial_cluster.empty()) {
    SHOAL_ASSIGN_OR_RETURN(seat_,
                           ManagerSeat::replicated(std::move(seat), config_.etcd_initial_cluster));
  } else {
    SHOAL_ASSIGN_OR_RETURN(seat_, ManagerSeat::single(std::move(seat)));
  }
  seat_->set_listener([this] { refresh(); });
  return {};
}

Status ManagerNode::serve() {
  control_ = std::make_unique<ControlRouter>(source(), true);
  dispatcher_ = std::make_unique<DispatcherRouter>(source());
  ca_ = std::make_unique<CaService>(
      source(), [dir = config_.state_dir, fallback = config_.files.ca_cert_pem] {
        auto files = pki::load_node_files(dir);  // the roots as the node's assignments left them
        return files.ok() ? files->ca_cert_pem : fallback;
      });
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config_.listen_addr, api::manager_credentials(config_.files), &port);
  api::accept_keepalives(builder);
  api::limit_resources(builder);
  builder.RegisterService(control_.get());
  builder.RegisterService(dispatcher_.get());
  builder.RegisterService(ca_.get());
  UniqueFd ipv4_only = hold_ipv6_wildcard(config_.listen_addr);  // 0.0.0.0: no IPv6
  server_ = builder.BuildAndStart();
  ipv4_only.reset();
  if (!server_ || port == 0) {
    return sys_error("listen", config_.listen_addr, EADDRINUSE, "the manager port is not free");
  }
  spdlog::info("manager listening on {}", config_.listen_addr);
  return {};
}

std::shared_ptr<const ManagerContext> ManagerNode::context() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::shared_ptr<const ClusterSecrets> ManagerNode::secrets() const {
  std::lock_guard lock(mutex_);
  return secrets_;
}

void ManagerNode::refresh() {
  std::lock_guard refreshing(refresh_mutex_);
  auto runtime = seat_->runtime();
  auto view = seat_->leader();
  auto current = context();
  auto next = std::make_shared<ManagerContext>();
  next->channels = channels_;
  next->hooks = this;
  if (runtime && seat_->is_replicated()) {
    if (auto adopted = adopt_secrets(); !adopted.ok()) {
      spdlog::warn("leading without the cluster secrets: {}", adopted.error().message());
      runtime.reset();  // no CA, no tokens: serve nothing rather than half, and try again
      seat_->notify_again();
    }
  }
  if (runtime && demote_others_) {
    if (auto demoted = demote_other_managers(*runtime); demoted.ok()) {
      demote_others_ = false;
    } else {
      spdlog::warn("demoting the lost managers: {}", demoted.error().message());
      seat_->notify_again();
    }
  }
  if (runtime && seat_->is_replicated()) {
    if (auto kept = keep_only_current_managers(*runtime); !kept.ok())
      spdlog::warn("revoking former managers at etcd: {}", kept.error().message());
  }
  if (runtime) {
    next->runtime = runtime;
    next->manager = runtime.get();
    next->secrets = secrets();
    next->leader_id = config_.node_id;
    next->leader_addr = config_.manager_addr;
    next->dispatcher_owner = current && current->runtime == runtime
                                 ? current->dispatcher_owner
                                 : std::make_shared<DispatcherService>(
                                       *runtime, config_.gossip_port,
                                       [this](api::Assignments& out) { fill_secrets(out); },
                                       config_.node_id, port_of(config_.manager_addr, 2377));
    next->dispatcher = next->dispatcher_owner.get();
  } else if (!view.self && view.leader != config_.node_id) {
    // (A leadership key of ours under an older lease is no leader to send anybody to.)
    next->leader_id = view.leader;
    next->leader_addr = view.address;
  }
  {
    std::lock_guard lock(mutex_);
    context_ = next;
  }
  if (current && current->dispatcher_owner && current->dispatcher_owner != next->dispatcher_owner) {
    current->dispatcher_owner->stop();  // its agents reconnect, to the leader
  }
}

Status ManagerNode::adopt_secrets() {
  SHOAL_ASSIGN_OR_RETURN(auto stored, seat_->read_key(kSecretsKey));
  auto mine = secrets();
  if (!stored) {
    if (!mine) {
      return Error{.op = "find", .object = "cluster secrets", .detail = "neither here nor in etcd"};
    }
    return seat_->write_key(kSecretsKey, mine->to_json());
  }
  if (mine && mine->to_json() == *stored) {
    return {};
  }
  SHOAL_ASSIGN_OR_RETURN(auto adopted, ClusterSecrets::adopt(config_.state_dir, *stored));
  std::lock_guard lock(mutex_);
  secrets_ = std::move(adopted);
  return {};
}

api::JoinTokens ManagerNode::join_tokens() {
  api::JoinTokens tokens;
  if (auto held = secrets()) {
    auto pair = held->tokens();
    tokens.set_worker(pair.worker);
    tokens.set_manager(pair.manager);
  }
  return tokens;
}

std::string ManagerNode::leader_node_id() {
  return seat_->leader().leader;
}

grpc::Status ManagerNode::collect_logs(const std::vector<manager::Task>& tasks, uint32_t tail,
                                       api::LogsResponse& response) {
  auto held = context();
  if (!held || held->dispatcher == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, api::kNoLeader);
  }
  return held->dispatcher->collect_logs(tasks, tail, response);
}

Status ManagerNode::remove_manager(const std::string& node_id, const std::string& addr,
                                   bool force) {
  std::lock_guard lock(membership_mutex_);
  return seat_->remove_member(node_id, force, addr);
}

Status ManagerNode::check_manager_removal(const std::string& node_id, const std::string& addr) {
  return seat_->check_removal(node_id, addr);
}

bool ManagerNode::store_has_quorum() {
  return seat_->store_has_quorum();
}

Result<api::JoinTokens> ManagerNode::rotate_join_token(const std::string& role) {
  if (role != "worker" && role != "manager") {
    return invalid_argument("role \"" + role + "\"", "expected worker or manager");
  }
  std::shared_ptr<ClusterSecrets> held;
  {
    std::lock_guard lock(mutex_);
    held = secrets_;
  }
  if (!held) {
    return Error{.op = "rotate", .object = "join token", .detail = "this manager has no secrets"};
  }
  SHOAL_TRY(held->rotate(role == "manager" ? pki::NodeRole::kManager : pki::NodeRole::kWorker));
  SHOAL_TRY(share_secrets(*held));
  api::JoinTokens tokens;
  tokens.set_worker(held->tokens().worker);
  tokens.set_manager(held->tokens().manager);
  return tokens;
}

Status ManagerNode::share_secrets(const ClusterSecrets& secrets) {
  if (!seat_->is_replicated())
    return {};
  return seat_->write_key(kSecretsKey, secrets.to_json());
}

void ManagerNode::publish_revocations(const ClusterSecrets& secrets) {
  auto runtime = seat_->runtime();
  if (!runtime || !seat_->is_replicated())
    return;  // a single manager runs no etcd member
  std::lock_guard lock(revocations_mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - revocations_checked_ < kRevocationsCheckPeriod)
    return;
  revocations_checked_ = now;
  std::vector<manager::Node> nodes;
  runtime->store().view([&](const manager::ReadTx& tx) { nodes = tx.nodes(); });
  const auto serials = serials_to_revoke(nodes, unix_seconds_now());
  if (serials == published_revocations_ && now - revocations_published_ < kRevocationsRepublish)
    return;
  auto crl = secrets.ca()->revocation_list(serials, kRevocationListValidity);
  if (!crl.ok()) {
    spdlog::warn("revocation list: {}", crl.error().message());
    return;
  }
  if (auto written = seat_->write_key(kRevocationListKey, *crl); !written.ok()) {
    spdlog::warn("revocation list: {}", written.error().message());
    return;
  }
  if (published_revocations_ != serials)
    spdlog::info("etcd's revocation list names {} replaced certificate(s)", serials.size());
  published_revocations_ = serials;
  revocations_published_ = now;
}

void ManagerNode::fill_secrets(api::Assignments& out) {
  for (auto& key : gossip_keys())
    out.add_gossip_keys(std::move(key));
  std::shared_ptr<ClusterSecrets> held;
  {
    std::lock_guard lock(mutex_);
    held = secrets_;
  }
  if (held) {
    finish_root_rotation_when_done(*held);
    publish_revocations(*held);
    out.set_trust_roots_pem(held->trust_bundle_pem());
    auto rotation = held->rotation();
    out.set_signing_root_pem(rotation ? rotation->next->cert_pem() : held->ca()->cert_pem());
  }
}

std::pair<uint32_t, uint32_t> ManagerNode::nodes_moved(const std::string& signer) const {
  uint32_t moved = 0;
  uint32_t total = 0;
  if (auto runtime = seat_->runtime()) {
    runtime->store().view([&](const manager::ReadTx& tx) {
      for (const auto& node : tx.nodes()) {
        ++total;
        moved += node.cert_issuer == signer ? 1 : 0;
      }
    });
  }
  return {moved, total};
}

void ManagerNode::finish_root_rotation_when_done(ClusterSecrets& held) {
  std::lock_guard lock(secrets_change_mutex_);
  auto rotation = held.rotation();
  if (!rotation)
    return;
  auto [moved, total] = nodes_moved(rotation->next->fingerprint());
  if (total == 0 || moved < total)
    return;
  if (auto finished = held.finish_root_rotation(); !finished.ok()) {
    spdlog::warn("ending the root rotation: {}", finished.error().message());
    return;
  }
  spdlog::info(
      "root rotation done: every node's certificate is the new root's ({}), the old "
      "root is trusted no more and the join tokens changed",
      held.ca()->fingerprint());
  if (auto shared = share_secrets(held); !shared.ok())
    spdlog::warn("sharing the rotated root: {}", shared.error().message());
}

std::vector<std::string> ManagerNode::gossip_keys() {
  auto held = secrets();
  if (!held)
    return {};
  if (gossip::rotation_due(held->gossip_keys(), gossip::unix_now(), config_.gossip_key_rotation)) {
    if (auto rotated = rotate_gossip_key(true); !rotated.ok())
      spdlog::warn("gossip key rotation: {}", rotated.error().message());  // next call retries
  }
  return gossip::keyring_order(held->gossip_keys());
}

Status ManagerNode::rotate_gossip_key(bool when_due) {
  std::lock_guard lock(secrets_change_mutex_);
  std::shared_ptr<ClusterSecrets> held;
  {
    std::lock_guard secrets_lock(mutex_);
    held = secrets_;
  }
  if (!held) {
    return Error{.op = "rotate", .object = "gossip key", .detail = "this manager has no secrets"};
  }
  auto now = gossip::unix_now();
  if (when_due && !gossip::rotation_due(held->gossip_keys(), now, config_.gossip_key_rotation))
    return {};  // another session's call rotated it meanwhile
  SHOAL_TRY(held->rotate_gossip_key(now));
  spdlog::info("gossip keys rotated: {} held", held->gossip_keys().size());
  return share_secrets(*held);
}

Result<api::SwarmSettings> ManagerNode::update_swarm(const api::UpdateSwarmRequest& request) {
  std::shared_ptr<ClusterSecrets> held;
  {
    std::lock_guard lock(mutex_);
    held = secrets_;
  }
  if (!held) {
    return Error{.op = "update", .object = "the swarm", .detail = "this manager has no secrets"};
  }
  if (request.cert_expiry_s() != 0) {
    SHOAL_ASSIGN_OR_RETURN(auto expiry, pki::checked_cert_expiry(request.cert_expiry_s()));
    SHOAL_TRY(held->set_cert_expiry(expiry));
    SHOAL_TRY(share_secrets(*held));  // what a new leader adopts
    spdlog::info("node certificates signed from now on are valid for {} s", expiry.count());
  }
  if (request.rotate_gossip_key())
    SHOAL_TRY(rotate_gossip_key(false));
  if (request.rotate_root_ca()) {
    std::lock_guard lock(secrets_change_mutex_);
    SHOAL_TRY(held->start_root_rotation());
    SHOAL_TRY(share_secrets(*held));
    spdlog::info("root rotation started: every node moves to root {}",
                 held->rotation()->next->fingerprint());
  }
  api::SwarmSettings settings;
  settings.set_cert_expiry_s(static_cast<uint64_t>(held->cert_expiry().count()));
  auto rotation = held->rotation();
  auto signer = rotation ? rotation->next : held->ca();
  settings.set_root_ca_pem(signer->cert_pem());
  settings.set_root_rotation_in_progress(rotation.has_value());
  auto [moved, total] = nodes_moved(signer->fingerprint());
  settings.set_nodes_moved(moved);
  settings.set_nodes_total(total);
  return settings;
}

Result<std::string> ManagerNode::add_manager(const std::string& node_id, const std::string& addr) {
  std::lock_guard lock(membership_mutex_);
  if (!seat_->is_replicated()) {
    spdlog::info("a second manager joins: the swarm store moves into etcd");
    SHOAL_TRY(seat_->replicate());
  }
  SHOAL_TRY(adopt_secrets());  // in etcd before any other manager could come to lead
  return seat_->add_member(node_id, addr);
}

Result<BackupSecrets> ManagerNode::backup_secrets() {
  auto held = secrets();
  if (!held) {
    return Error{.op = "back up", .object = "the swarm", .detail = "this manager holds no CA"};
  }
  return BackupSecrets{
      .ca_cert_pem = held->ca()->cert_pem(),
      .ca_key_pem = held->ca()->key_pem(),
      .cluster_id = held->cluster_id(),
      .tokens = held->tokens(),
      .manager_node_id = config_.node_id,
      .default_addr_pool = config_.runtime.allocator.default_pool.str(),
      .heartbeat_ms = static_cast<uint64_t>(config_.runtime.heartbeat_period.count())};
}

Status ManagerNode::keep_only_current_managers(ManagerRuntime& runtime) {
  std::set<std::string> managers;
  runtime.store().view([&](const manager::ReadTx& tx) {
    for (const auto& node : tx.nodes()) {
      if (node.role == manager::NodeRole::kManager)
        managers.insert(node.id);
    }
  });
  return seat_->keep_managers(managers);
}

// The managers a forced new cluster left out have no member any more: workers now (a returning
// one sees that in its assignments and restarts as a worker).
Status ManagerNode::demote_other_managers(ManagerRuntime& runtime) {
  return runtime.store().update([&](manager::WriteTx& tx) -> Status {
    for (auto node : tx.nodes()) {
      if (node.role != manager::NodeRole::kManager || node.id == config_.node_id) {
        continue;
      }
      spdlog::info("node {} ({}) is no manager of the new cluster: demoted", node.id,
                   node.hostname);
      node.role = manager::NodeRole::kWorker;
      node.status = manager::NodeStatus::kDown;
      SHOAL_TRY(tx.update(node));
    }
    return {};
  });
}

std::map<std::string, std::string> ManagerNode::manager_statuses() {
  std::map<std::string, std::string> statuses;
  auto health = seat_->member_health();
  if (!health.ok()) {
    return statuses;
  }
  for (const auto& [name, answers] : *health) {
    statuses[name] = answers ? "Reachable" : "Unreachable";
  }
  return statuses;
}

}  // namespace shoal::manager
