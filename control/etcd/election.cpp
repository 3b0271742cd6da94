#include "control/etcd/election.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace shoal::etcd {

using Clock = std::chrono::steady_clock;

std::unique_ptr<Election> Election::start(Client& client, ElectionConfig config,
                                          Observer observer) {
  std::unique_ptr<Election> election(new Election(client, std::move(config), std::move(observer)));
  election->thread_ = std::thread([e = election.get()] { e->run(); });
  return election;
}

Election::~Election() {
  resign();
}

LeaderView Election::view() const {
  std::lock_guard lock(mutex_);
  return view_;
}

void Election::resign() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (lease_ != 0) {
    if (auto revoked = client_->revoke_lease(lease_); !revoked.ok()) {
      spdlog::warn("resign leadership: {}", revoked.error().message());
    }
    lease_ = 0;
  }
  publish(LeaderView{});
}

void Election::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    step();
    lock.lock();
    cv_.wait_for(lock, config_.poll, [this] { return stopping_; });
  }
}

void Election::renew_lease() {
  const auto now = Clock::now();
  // A lease past its validity here is kept: it may still live at etcd (a raft election between
  // two renewals, say), still holding the key. Its keep-alive says; only etcd lets it go.
  if (lease_ == 0) {
    auto granted = client_->grant_lease(config_.ttl);
    if (!granted.ok()) {
      return;
    }
    lease_ = *granted;
    lease_valid_until_ = renewed_until_ = now + config_.ttl;  // a grant goes through raft
    next_renewal_ = now + config_.ttl / 3;
    return;
  }
  if (now < next_renewal_) {
    return;
  }
  auto ttl = client_->keep_alive(lease_, call_budget());
  if (!ttl.ok()) {
    return;  // retried next poll
  }
  if (ttl->count() <= 0) {
    lease_ = 0;  // expired
    return;
  }
  // Counted from before the request: the server's clock started no earlier than this. Taken
  // only once a raft write commits after it (step): etcd's raft leader renews leases by itself,
  // and goes on doing so for up to two election timeouts after it lost its quorum.
  renewed_until_ = now + *ttl;
  next_renewal_ = now + config_.ttl / 3;
}

// While this candidate leads, a call may not outlast its lease: without a quorum the calls
// time out, and two of them back to back would keep a lapsed leadership for seconds.
std::chrono::milliseconds Election::call_budget() const {
  const auto full = client_->call_timeout();
  if (!view().self) {
    return full;
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(lease_valid_until_ - Clock::now());
  return std::clamp(left, std::chrono::milliseconds(1), full);
}

// The key's value: "<id>" or "<id>@<address>" (node ids never hold '@').
std::string Election::key_value() const {
  return config_.address.empty() ? config_.candidate : config_.candidate + "@" + config_.address;
}

namespace {

LeaderView holder_view(const std::string& value) {
  auto at = value.find('@');
  if (at == std::string::npos) {
    return LeaderView{.leader = value};
  }
  return LeaderView{.leader = value.substr(0, at), .address = value.substr(at + 1)};
}

}  // namespace

void Election::step() {
  renew_lease();
  if (lease_ == 0) {
    publish(LeaderView{});
    return;
  }
  Txn txn;
  txn.if_created_at(config_.key, 0)
      .put(config_.key, key_value(), lease_)
      .otherwise_get(config_.key);
  auto result = client_->commit(txn, call_budget());
  if (!result.ok()) {
    // Unknown: keep a leadership only while its lease surely holds.
    auto current = view();
    if (!current.self || Clock::now() >= lease_valid_until_) {
      publish(LeaderView{});
    }
    return;
  }
  // A raft write committed after the renewal: the leader that renewed had its quorum.
  lease_valid_until_ = std::max(lease_valid_until_, renewed_until_);
  // Our lease lives at etcd when the key holds it, but past its validity here it may end any
  // moment: lead again once a renewal (next poll) says how long, with the same key and fence.
  const bool valid = Clock::now() < lease_valid_until_;
  if (result->succeeded) {
    if (!valid) {
      publish(LeaderView{});
      return;
    }
    publish(LeaderView{.leader = config_.candidate,
                       .address = config_.address,
                       .self = true,
                       .fence = {.key = config_.key, .create_revision = result->revision}});
    return;
  }
  const auto& holder = result->gets.empty() ? std::nullopt : result->gets[0];
  if (!holder) {
    publish(LeaderView{});  // released between the compare and the read: next poll
    return;
  }
  const bool self = holder->value == key_value() && holder->lease == lease_;
  if (self && !valid) {
    publish(LeaderView{});
    return;
  }
  auto view = holder_view(holder->value);
  view.self = self;
  if (self) {
    view.fence = Fence{.key = config_.key, .create_revision = holder->create_revision};
  }
  publish(std::move(view));
}

void Election::publish(LeaderView view) {
  {
    std::lock_guard lock(mutex_);
    if (view == view_) {
      return;
    }
    view_ = view;
  }
  if (observer_) {
    observer_(view);
  }
}

}  // namespace shoal::etcd
