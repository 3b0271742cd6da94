#include "control/manager/leadership/manager_seat.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "common/atomic_file.h"
#include "control/etcd/etcd_store.h"
#include "control/manager/store/sqlite_store.h"

namespace shoal::manager {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Status check_member_removal(size_t members, size_t reachable_others, const std::string& name) {
  if (members <= 1) {
    return Error{.op = "remove",
                 .object = "manager " + name,
                 .detail = "it is the last manager: the swarm's state would be lost"};
  }
  const size_t remaining = members - 1;
  const size_t quorum = remaining / 2 + 1;
  if (reachable_others < quorum) {
    return Error{.op = "remove",
                 .object = "manager " + name,
                 .detail = "it would leave " + std::to_string(remaining) + " managers of which " +
                           std::to_string(reachable_others) + " are reachable, fewer than the " +
                           std::to_string(quorum) +
                           " a quorum needs, so the swarm could no longer change. Use --force to "
                           "remove it anyway"};
  }
  return {};
}

bool ManagerSeat::has_member_data(const std::string& dir) {
  std::error_code ec;
  return fs::exists(dir + "/etcd/data/member", ec);
}

namespace {

Status make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return sys_error("create", dir, ec.value());
  }
  return {};
}

// etcd changes its membership only once every member has been connected for a few seconds
// ("unhealthy cluster"): a change right after another waits for that, up to 15 s.
template <typename Call>
auto while_unhealthy(Call call) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  auto result = call();
  while (!result.ok() && result.error().detail.find("unhealthy cluster") != std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
    result = call();
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<ManagerSeat>> ManagerSeat::single(SeatConfig config) {
  SHOAL_TRY(make_dir(config.dir));
  std::unique_ptr<ManagerSeat> seat(new ManagerSeat(std::move(config)));
  seat->config_.runtime.store_path = seat->sqlite_path();
  SHOAL_ASSIGN_OR_RETURN(auto runtime, ManagerRuntime::start(seat->config_.runtime));
  seat->runtime_ = std::move(runtime);
  return seat;
}

Result<std::unique_ptr<ManagerSeat>> ManagerSeat::replicated(SeatConfig config,
                                                             std::string initial_cluster) {
  SHOAL_TRY(make_dir(config.dir));
  std::unique_ptr<ManagerSeat> seat(new ManagerSeat(std::move(config)));
  const bool join_existing = !initial_cluster.empty() && !has_member_data(seat->config_.dir);
  SHOAL_TRY(seat->start_member(std::move(initial_cluster), join_existing));
  seat->start_campaign();
  return seat;
}

ManagerSeat::~ManagerSeat() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  {
    std::lock_guard lock(mutex_);
    runtime_.reset();
    etcd_store_ = nullptr;
  }
  election_.reset();  // revokes the lease: another manager leads within one poll
  client_.reset();
  member_.reset();
}

namespace {

etcd::MemberConfig member_config(const SeatConfig& config) {
  return etcd::MemberConfig{.name = config.node_id,
                            .dir = config.dir + "/etcd",
                            .peer_ip = config.advertise_ip,
                            .peer_port = config.peer_port,
                            .client_port = config.client_port,
                            .tls = config.tls,
                            .binary = config.etcd_binary};
}

}  // namespace

Status ManagerSeat::rebuild_alone(const SeatConfig& config) {
  if (!has_member_data(config.dir)) {
    return Error{.op = "force a new cluster",
                 .object = config.dir + "/etcd",
                 .detail = "this manager holds no etcd data (a single manager needs no rebuild)"};
  }
  auto member = member_config(config);
  member.force_new_cluster = true;
  SHOAL_ASSIGN_OR_RETURN(auto forced, etcd::Member::start(member));
  SHOAL_TRY(forced->wait_serving(30s));
  forced->stop();
  spdlog::info("the managers' store is now a cluster of this manager alone");
  return {};
}

Status ManagerSeat::start_member(std::string initial_cluster, bool join_existing) {
  auto member = member_config(config_);
  member.initial_cluster = std::move(initial_cluster);
  member.join_existing = join_existing;
  SHOAL_ASSIGN_OR_RETURN(member_, etcd::Member::start(member));
  SHOAL_TRY(member_->wait_serving(30s));
  client_ = member_->client();
  return {};
}

void ManagerSeat::start_campaign() {
  election_ = etcd::Election::start(*client_,
                                    {.key = kLeaderKey,
                                     .candidate = config_.node_id,
                                     .address = config_.manager_addr,
                                     .ttl = config_.lease_ttl,
                                     .poll = config_.poll},
                                    [this](const etcd::LeaderView&) {
                                      {
                                        std::lock_guard lock(mutex_);
                                        changed_ = true;
                                      }
                                      cv_.notify_all();
                                    });
  thread_ = std::thread([this] { run(); });
}

bool ManagerSeat::is_replicated() const {
  return member_ != nullptr;
}

std::shared_ptr<ManagerRuntime> ManagerSeat::runtime() const {
  std::lock_guard lock(mutex_);
  return runtime_;
}

etcd::LeaderView ManagerSeat::leader() const {
  if (!election_) {
    return etcd::LeaderView{
        .leader = config_.node_id, .address = config_.manager_addr, .self = true};
  }
  return election_->view();
}

void ManagerSeat::notify_again() {
  std::lock_guard lock(mutex_);
  renotify_ = true;
}

void ManagerSeat::set_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

void ManagerSeat::notify() {
  Listener listener;
  {
    std::lock_guard lock(mutex_);
    listener = listener_;
  }
  if (listener) {
    listener();
  }
}

void ManagerSeat::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_ = false;
    const bool renotify = std::exchange(renotify_, false);
    lock.unlock();
    converge();
    follow_revocation_list();
    if (renotify) {
      notify();
    }
    lock.lock();
    cv_.wait_for(lock, config_.poll, [this] { return stopping_ || changed_; });
  }
}

void ManagerSeat::converge() {
  const auto view = election_->view();
  bool keep = false;
  bool had = false;
  std::shared_ptr<ManagerRuntime> stepping_down;
  {
    std::lock_guard lock(mutex_);
    had = runtime_ != nullptr;
    keep = view.self && had && runtime_fence_ == view.fence && etcd_store_ != nullptr &&
           !etcd_store_->diverged();
    if (!keep && had) {
      stepping_down = std::move(runtime_);  // stopped below, outside the lock (it joins a thread)
      etcd_store_ = nullptr;
    }
  }
  if (keep) {
    return;
  }
  if (stepping_down) {
    notify();  // holders let go of it first
    stepping_down.reset();
  }
  if (view.self) {
    if (auto opened = open_replicated_runtime(view.fence); !opened.ok()) {
      spdlog::warn("leading, but the manager cannot start: {}", opened.error().message());
      if (!had) {
        return;
      }
    } else {
      spdlog::info("this manager leads (fence revision {})", view.fence.create_revision);
    }
  } else if (had) {
    spdlog::info("this manager no longer leads (leader: {})",
                 view.leader.empty() ? "unknown" : view.leader);
  }
  notify();
}

Status ManagerSeat::open_replicated_runtime(const etcd::Fence& fence) {
  // The one-manager store moves into etcd once, under the first leadership that finds it.
  std::error_code ec;
  if (fs::exists(sqlite_path(), ec)) {
    SHOAL_ASSIGN_OR_RETURN(auto sqlite, manager::SqliteStore::open(sqlite_path()));
    auto seeded = etcd::EtcdStore::seed(*client_, kStorePrefix, fence, *sqlite, sqlite->index());
    if (!seeded.ok() && seeded.error().detail.find("already holds") == std::string::npos) {
      return seeded;
    }
    sqlite.reset();
    fs::rename(sqlite_path(), sqlite_path() + ".moved-to-etcd", ec);
    if (ec) {
      return sys_error("rename", sqlite_path(), ec.value());
    }
    spdlog::info("the swarm store moved into etcd");
  }
  SHOAL_ASSIGN_OR_RETURN(auto store, etcd::EtcdStore::open(*client_, kStorePrefix, fence));
  etcd::EtcdStore* raw = store.get();
  SHOAL_ASSIGN_OR_RETURN(auto runtime, ManagerRuntime::start(config_.runtime, std::move(store)));
  {
    std::lock_guard lock(mutex_);
    runtime_ = std::move(runtime);
    etcd_store_ = raw;
    runtime_fence_ = fence;
  }
  cv_.notify_all();  // replicate() waits for this
  return {};
}

Status ManagerSeat::replicate(std::chrono::milliseconds timeout) {
  if (is_replicated()) {
    return {};
  }
  std::shared_ptr<ManagerRuntime> single;
  {
    std::lock_guard lock(mutex_);
    single = std::move(runtime_);
  }
  notify();  // holders let go of it
  // The copy must see every write: wait for calls still holding the SQLite runtime.
  const auto drain_deadline = std::chrono::steady_clock::now() + 5s;
  while (single && single.use_count() > 1 && std::chrono::steady_clock::now() < drain_deadline) {
    std::this_thread::sleep_for(10ms);
  }
  single.reset();
  if (auto started = start_member({}, false); !started.ok()) {
    // Back to what it was: the SQLite store is untouched.
    member_.reset();
    auto restarted = ManagerRuntime::start(config_.runtime);
    if (restarted.ok()) {
      std::lock_guard lock(mutex_);
      runtime_ = std::move(*restarted);
    }
    return started;
  }
  start_campaign();
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [this] { return etcd_store_ != nullptr; })) {
    return Error{.op = "move the swarm store into etcd",
                 .object = config_.dir + "/etcd",
                 .detail = "this manager did not lead its own one-member cluster in time"};
  }
  return {};
}

// From here on etcd serves a certificate only while a user named as its CN (a manager's node
// id) exists: removing a manager deletes its user, which revokes its certificate at etcd. Every
// step is idempotent, so each added manager runs it again (a failure is retried then).
Status ManagerSeat::trust_roots(const std::string& ca_pem) {
  if (!member_ || !client_)
    return {};
  // One member at a time keeps the quorum: each waits its turn in the members' order by name
  // (every manager sees the same list), a restart taking about a second.
  constexpr auto kTurn = 5s;
  std::vector<std::string> names;
  if (auto members = client_->members(); members.ok()) {
    for (const auto& member : *members)
      names.push_back(member.name);
  }
  std::sort(names.begin(), names.end());
  auto mine = std::find(names.begin(), names.end(), config_.node_id);
  const auto turn = mine == names.end() ? 0 : mine - names.begin();
  return member_->trust(ca_pem, turn * kTurn);
}

Status ManagerSeat::enable_member_auth() {
  SHOAL_TRY(client_->add_root_user("root"));  // etcd enables auth only with a root user
  SHOAL_TRY(client_->add_root_user(config_.node_id));
  return client_->enable_auth();
}

Status ManagerSeat::revoke_manager(const std::string& name) {
  if (!is_replicated())
    return {};
  if (name == config_.node_id) {
    // A leader demoting itself still writes through its own member: the next leader's
    // keep_managers() takes its user.
    return {};
  }
  return client_->delete_user(name);
}

Status ManagerSeat::keep_managers(const std::set<std::string>& managers) {
  if (!is_replicated())
    return {};
  SHOAL_ASSIGN_OR_RETURN(auto users, client_->users());
  for (const auto& user : users) {
    if (user != "root" && !managers.contains(user))
      SHOAL_TRY(revoke_manager(user));
  }
  return {};
}

std::string ManagerSeat::initial_cluster_of(const std::vector<etcd::MemberInfo>& members,
                                            const std::string& new_name,
                                            const std::string& new_url) const {
  std::string out;
  for (const auto& member : members) {
    if (member.peer_urls.empty()) {
      continue;
    }
    const auto& url = member.peer_urls.front();
    std::string name = member.name;
    if (url == new_url) {
      name = new_name;
    } else if (name.empty()) {
      name = "pending-" + std::to_string(member.id);  // another manager still joining
    }
    out += (out.empty() ? "" : ",") + name + "=" + url;
  }
  return out;
}

Result<std::string> ManagerSeat::add_member(const std::string& name, const std::string& peer_ip) {
  if (!is_replicated() || !leader().self) {
    return Error{
        .op = "add", .object = "manager " + name, .detail = "only the leader adds managers"};
  }
  const std::string url = etcd::peer_url(peer_ip, config_.peer_port);
  SHOAL_TRY(enable_member_auth());
  SHOAL_ASSIGN_OR_RETURN(auto members, client_->members());
  bool present = false;
  for (const auto& member : members) {
    present = present || (!member.peer_urls.empty() && member.peer_urls.front() == url);
  }
  SHOAL_TRY(client_->add_root_user(name));  // before its member: it connects at once
  if (!present) {
    auto added = while_unhealthy([&] { return client_->add_member(url); });
    SHOAL_TRY(added);
    SHOAL_ASSIGN_OR_RETURN(members, client_->members());
  }
  return initial_cluster_of(members, name, url);
}

Result<ManagerSeat::Removal> ManagerSeat::plan_removal(const std::string& name,
                                                       const std::string& peer_ip) {
  if (!is_replicated()) {
    return Error{.op = "remove",
                 .object = "manager " + name,
                 .detail = "it is the last manager: the swarm's state would be lost"};
  }
  SHOAL_ASSIGN_OR_RETURN(auto members, client_->members());
  Removal plan{.members = members.size(), .reachable_others = 0, .target = std::nullopt};
  const std::string url = peer_ip.empty() ? "" : etcd::peer_url(peer_ip, config_.peer_port);
  for (const auto& member : members) {
    const bool unstarted =
        member.name.empty() && !member.peer_urls.empty() && member.peer_urls.front() == url;
    if (member.name == name || unstarted) {
      plan.target = member;
    } else {
      plan.reachable_others += member_answers(member) ? 1 : 0;
    }
  }
  return plan;
}

Status ManagerSeat::check_removal(const std::string& name, const std::string& peer_ip) {
  SHOAL_ASSIGN_OR_RETURN(auto plan, plan_removal(name, peer_ip));
  if (!plan.target) {
    return {};  // it never started a member: nothing of the quorum goes with it
  }
  return check_member_removal(plan.members, plan.reachable_others, name);
}

Status ManagerSeat::remove_member(const std::string& name, bool force, const std::string& peer_ip) {
  SHOAL_ASSIGN_OR_RETURN(auto plan, plan_removal(name, peer_ip));
  if (!plan.target) {
    return revoke_manager(name);
  }
  auto safe = check_member_removal(plan.members, plan.reachable_others, name);
  if (!safe.ok() && (!force || plan.members <= 1)) {
    return safe;  // the last member goes with the swarm only, --force or not
  }
  SHOAL_TRY(revoke_manager(name));
  return while_unhealthy([&] { return client_->remove_member(plan.target->id); });
}

namespace {

std::string client_endpoint(const etcd::MemberInfo& member) {
  if (member.client_urls.empty()) {
    return {};  // added, never started
  }
  const std::string& url = member.client_urls.front();
  const size_t scheme = url.find("://");
  return scheme == std::string::npos ? url : url.substr(scheme + 3);
}

}  // namespace

std::shared_ptr<etcd::Client> ManagerSeat::probe_client(const std::string& endpoint) const {
  std::lock_guard lock(probe_mutex_);
  auto& client = probe_clients_[endpoint];
  if (!client) {
    client = etcd::Client::create(endpoint, config_.tls, {.call_timeout = 700ms});
  }
  return client;
}

void ManagerSeat::keep_probe_clients_of(const std::vector<etcd::MemberInfo>& members) const {
  std::set<std::string> current;
  for (const auto& member : members) {
    current.insert(client_endpoint(member));
  }
  std::lock_guard lock(probe_mutex_);
  std::erase_if(probe_clients_, [&](const auto& entry) { return !current.contains(entry.first); });
}

bool ManagerSeat::member_answers(const etcd::MemberInfo& member) const {
  const std::string endpoint = client_endpoint(member);
  return !endpoint.empty() && probe_client(endpoint)->status().ok();
}

Result<std::map<std::string, bool>> ManagerSeat::member_health() {
  std::map<std::string, bool> health;
  if (!is_replicated()) {
    health[config_.node_id] = true;
    return health;
  }
  SHOAL_ASSIGN_OR_RETURN(auto members, client_->members());
  keep_probe_clients_of(members);
  std::vector<std::thread> probes;
  std::vector<char> answers(members.size(), 0);
  for (size_t i = 0; i < members.size(); ++i) {
    probes.emplace_back([&, i] { answers[i] = member_answers(members[i]) ? 1 : 0; });
  }
  for (auto& probe : probes) {
    probe.join();
  }
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].name.empty()) {
      health[members[i].name] = answers[i] != 0;
    }
  }
  return health;
}

bool ManagerSeat::store_has_quorum() {
  if (!is_replicated()) {
    return true;
  }
  auto status = client_->status();
  if (!status.ok() || status->leader_id == 0) {
    return false;
  }
  // Raft notices a lost majority only after an election timeout; the members answering (in
  // parallel, bounded) tell at once.
  auto health = member_health();
  if (!health.ok()) {
    return false;
  }
  size_t answering = 0;
  for (const auto& [name, answers] : *health) {
    answering += answers ? 1 : 0;
  }
  return answering >= health->size() / 2 + 1;
}

void ManagerSeat::follow_revocation_list() {
  const auto now = std::chrono::steady_clock::now();
  if (!member_ || !client_ || now - crl_checked_ < std::chrono::seconds(1))
    return;
  crl_checked_ = now;
  auto listed = client_->get(kRevocationListKey);
  if (!listed.ok() || !*listed || (*listed)->value == followed_crl_)
    return;  // unreachable now (the next poll retries), none yet, or unchanged
  const auto& pem = (*listed)->value;
  if (pem.rfind("-----BEGIN X509 CRL-----", 0) != 0) {
    spdlog::warn("revocation list in etcd is no PEM CRL: kept the one in use");
    return;
  }
  if (auto written = write_file_atomically(etcd::crl_file(member_->config()), pem, 0600);
      !written.ok()) {
    spdlog::warn("revocation list: {}", written.error().message());
    return;
  }
  followed_crl_ = pem;
}

Result<std::optional<std::string>> ManagerSeat::read_key(const std::string& key) {
  if (!is_replicated()) {
    return Error{.op = "read", .object = key, .detail = "the swarm has a single manager"};
  }
  SHOAL_ASSIGN_OR_RETURN(auto value, client_->get(key));
  if (!value) {
    return std::optional<std::string>{};
  }
  return std::optional<std::string>{value->value};
}

Status ManagerSeat::write_key(const std::string& key, const std::string& value) {
  etcd::Fence fence;
  {
    std::lock_guard lock(mutex_);
    fence = runtime_fence_;
    if (!is_replicated() || runtime_ == nullptr) {
      return Error{.op = "write", .object = key, .detail = "this manager does not lead"};
    }
  }
  etcd::Txn txn;
  txn.if_created_at(fence.key, fence.create_revision).put(key, value);
  SHOAL_ASSIGN_OR_RETURN(auto result, client_->commit(txn));
  if (!result.succeeded) {
    return Error{.op = "write", .object = key, .detail = "this manager no longer leads"};
  }
  return {};
}

Result<std::vector<etcd::MemberInfo>> ManagerSeat::members() {
  if (!is_replicated()) {
    return std::vector<etcd::MemberInfo>{};
  }
  return client_->members();
}

}  // namespace shoal::manager
