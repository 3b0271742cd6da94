#include "control/daemon/manager_seat.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "control/etcd/etcd_store.h"
#include "control/manager/sqlite_store.h"

namespace shoal::daemon {

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

Status ManagerSeat::start_member(std::string initial_cluster, bool join_existing) {
  etcd::MemberConfig member{.name = config_.node_id,
                            .dir = config_.dir + "/etcd",
                            .peer_ip = config_.advertise_ip,
                            .peer_port = config_.peer_port,
                            .client_port = config_.client_port,
                            .initial_cluster = std::move(initial_cluster),
                            .join_existing = join_existing,
                            .tls = config_.tls,
                            .binary = config_.etcd_binary};
  SHOAL_ASSIGN_OR_RETURN(member_, etcd::Member::start(member));
  SHOAL_TRY(member_->wait_serving(30s));
  client_ = member_->client();
  return {};
}

void ManagerSeat::start_campaign() {
  election_ = etcd::Election::start(*client_,
                                    {.key = kLeaderKey,
                                     .candidate = config_.node_id,
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
    return etcd::LeaderView{.leader = config_.node_id, .self = true};
  }
  return election_->view();
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
    lock.unlock();
    converge();
    lock.lock();
    cv_.wait_for(lock, config_.poll, [this] { return stopping_ || changed_; });
  }
}

void ManagerSeat::converge() {
  const auto view = election_->view();
  bool keep = false;
  bool had = false;
  {
    std::lock_guard lock(mutex_);
    had = runtime_ != nullptr;
    keep = view.self && had && runtime_fence_ == view.fence && etcd_store_ != nullptr &&
           !etcd_store_->diverged();
    if (!keep && had) {
      runtime_.reset();  // steps down (or reopens below)
      etcd_store_ = nullptr;
    }
  }
  if (keep) {
    return;
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
  SHOAL_ASSIGN_OR_RETURN(auto members, client_->members());
  bool present = false;
  for (const auto& member : members) {
    present = present || (!member.peer_urls.empty() && member.peer_urls.front() == url);
  }
  if (!present) {
    auto added = while_unhealthy([&] { return client_->add_member(url); });
    SHOAL_TRY(added);
    SHOAL_ASSIGN_OR_RETURN(members, client_->members());
  }
  return initial_cluster_of(members, name, url);
}

Status ManagerSeat::remove_member(const std::string& name, bool force) {
  if (!is_replicated()) {
    return Error{
        .op = "remove", .object = "manager " + name, .detail = "the swarm has a single manager"};
  }
  SHOAL_ASSIGN_OR_RETURN(auto members, client_->members());
  std::optional<etcd::MemberInfo> target;
  size_t reachable = 0;
  for (const auto& member : members) {
    if (member.name == name) {
      target = member;
      continue;
    }
    if (member.client_urls.empty()) {
      continue;
    }
    std::string endpoint = member.client_urls.front();
    endpoint = endpoint.substr(endpoint.find("://") + 3);
    auto other = etcd::Client::create(endpoint, config_.tls, {.call_timeout = 700ms});
    reachable += other->status().ok() ? 1 : 0;
  }
  if (!target) {
    return Error{.op = "remove", .object = "manager " + name, .detail = "it has no etcd member"};
  }
  if (auto safe = check_member_removal(members.size(), reachable, name); !safe.ok() && !force) {
    return safe;
  }
  return while_unhealthy([&] { return client_->remove_member(target->id); });
}

Result<std::vector<etcd::MemberInfo>> ManagerSeat::members() {
  if (!is_replicated()) {
    return std::vector<etcd::MemberInfo>{};
  }
  return client_->members();
}

}  // namespace shoal::daemon
