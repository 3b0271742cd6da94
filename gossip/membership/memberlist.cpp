// Lifecycle of a Memberlist: creation, timers, join, leave, and read access to the member table.
#include "gossip/membership/memberlist.h"

#include <cmath>

#include <spdlog/spdlog.h>

namespace shoal::gossip {

Memberlist::Memberlist(Config config, Bytes meta, Clock& clock, Transport& transport,
                       Delegate* delegate)
    : config_(std::move(config)),
      meta_(std::move(meta)),
      clock_(clock),
      transport_(transport),
      delegate_(delegate),
      rng_(config_.random_seed ? config_.random_seed : std::random_device{}()),
      broadcasts_(config_.broadcast_queue_limit),
      awareness_(config_.awareness_max_multiplier) {}

Memberlist::~Memberlist() {
  shutdown();
}

Result<std::shared_ptr<Memberlist>> Memberlist::create(Config config, Bytes meta, Clock& clock,
                                                       Transport& transport, Delegate* delegate) {
  if (config.name.empty())
    return invalid_argument("node name", "must not be empty");
  if (meta.size() > config.max_meta) {
    return invalid_argument("node meta", std::to_string(meta.size()) + " bytes is more than " +
                                             std::to_string(config.max_meta));
  }
  if (config.probe_interval <= Duration::zero() || config.gossip_interval <= Duration::zero() ||
      config.push_pull_interval <= Duration::zero() || config.probe_timeout <= Duration::zero()) {
    return invalid_argument("gossip config", "intervals and timeouts must be positive");
  }
  if (config.awareness_max_multiplier < 1 || config.udp_buffer_size < 64) {
    return invalid_argument("gossip config", "awareness multiplier or UDP buffer too small");
  }
  return std::shared_ptr<Memberlist>(
      new Memberlist(std::move(config), std::move(meta), clock, transport, delegate));
}

Clock::TimerId Memberlist::after(Duration delay, std::function<void()> fn) {
  std::weak_ptr<bool> token = alive_token_;
  return clock_.schedule(delay, [token, this, fn = std::move(fn)] {
    if (token.lock() && running_)
      fn();
  });
}

void Memberlist::every(Duration interval, void (Memberlist::*tick)(), Duration first_delay) {
  auto loop = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_loop = loop;
  *loop = [this, interval, tick, weak_loop] {
    (this->*tick)();
    if (auto self = weak_loop.lock())
      after(interval, [self] { (*self)(); });
  };
  // The first timer owns the loop; each run hands ownership to the next timer.
  after(first_delay, [loop] { (*loop)(); });
}

void Memberlist::start() {
  if (running_)
    return;
  running_ = true;
  incarnation_ = 1;
  handle_alive(self_alive(), true);
  // Stagger the first runs so that members started together do not tick together.
  auto stagger = [&](Duration interval) {
    std::uniform_int_distribution<int64_t> pick(0, interval.count());
    return Duration(pick(rng_));
  };
  every(config_.probe_interval, &Memberlist::probe_tick, stagger(config_.probe_interval));
  every(config_.gossip_interval, &Memberlist::gossip_tick, stagger(config_.gossip_interval));
  every(config_.push_pull_interval, &Memberlist::push_pull_tick,
        stagger(config_.push_pull_interval));
  if (config_.reconnect_interval > Duration::zero()) {
    every(config_.reconnect_interval, &Memberlist::reconnect_tick,
          stagger(config_.reconnect_interval));
  }
}

void Memberlist::join(std::vector<NodeAddress> seeds, JoinDone done) {
  struct JoinState {
    size_t pending = 0, joined = 0;
    std::vector<Error> errors;
    JoinDone done;
  };
  auto state = std::make_shared<JoinState>();
  state->pending = seeds.size();
  state->done = std::move(done);
  if (seeds.empty()) {
    state->done(0, {});
    return;
  }
  for (const NodeAddress& seed : seeds) {
    push_pull_with(seed, true, [state, seed](Status s) {
      if (s.ok()) {
        ++state->joined;
      } else {
        Error e = std::move(s).error();
        e.object = seed.str();
        state->errors.push_back(std::move(e));
      }
      if (--state->pending == 0)
        state->done(state->joined, std::move(state->errors));
    });
  }
}

void Memberlist::leave(Duration timeout, std::function<void()> done) {
  Member* self = find(config_.name);
  if (leaving_ || !self || !running_) {
    done();
    return;
  }
  leaving_ = true;
  bool any_alive = false;
  for (const auto& [name, m] : nodes_) {
    any_alive |=
        name != config_.name && m.state != MemberState::kDead && m.state != MemberState::kLeft;
  }
  auto finished = std::make_shared<std::function<void()>>(std::move(done));
  auto finish_once = [finished] {
    if (*finished) {
      auto fn = std::move(*finished);
      *finished = nullptr;
      fn();
    }
  };
  const Dead d{self->incarnation, config_.name, config_.name};
  // Broadcast with a completion callback, then apply it locally like any other dead message.
  broadcast(config_.name, encode(d), finish_once);
  self->state = MemberState::kLeft;
  self->state_change = clock_.now();
  if (!any_alive) {
    finish_once();
    return;
  }
  after(timeout, finish_once);
}

void Memberlist::shutdown() {
  running_ = false;
  for (auto& [name, entry] : suspicions_)
    clock_.cancel(entry.timer);
  suspicions_.clear();
  for (auto& [seq, handler] : ack_handlers_)
    clock_.cancel(handler.timer);
  ack_handlers_.clear();
}

Status Memberlist::update_meta(Bytes meta) {
  if (meta.size() > config_.max_meta) {
    return invalid_argument("node meta",
                            "more than " + std::to_string(config_.max_meta) + " bytes");
  }
  meta_ = std::move(meta);
  Member* self = find(config_.name);
  if (!self)
    return {};
  self->meta = meta_;
  self->incarnation = ++incarnation_;
  broadcast(config_.name, encode(self_alive()));
  return {};
}

Member* Memberlist::find(const std::string& name) {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<Member> Memberlist::members() const {
  std::vector<Member> out;
  for (const auto& [name, m] : nodes_)
    out.push_back(m);
  std::sort(out.begin(), out.end(),
            [](const Member& a, const Member& b) { return a.name < b.name; });
  return out;
}

std::optional<Member> Memberlist::member(const std::string& name) const {
  auto it = nodes_.find(name);
  if (it == nodes_.end())
    return std::nullopt;
  return it->second;
}

size_t Memberlist::num_alive() const {
  size_t n = 0;
  for (const auto& [name, m] : nodes_)
    n += m.state == MemberState::kAlive;
  return n;
}

void Memberlist::notify_join(const Member& m) {
  spdlog::info("gossip: {} joined ({})", m.name, m.addr.str());
  if (delegate_)
    delegate_->on_join(m);
}

void Memberlist::notify_leave(const Member& m) {
  spdlog::info("gossip: {} {} ({})", m.name, m.state == MemberState::kLeft ? "left" : "failed",
               m.addr.str());
  if (delegate_)
    delegate_->on_leave(m);
}

void Memberlist::notify_update(const Member& m) {
  if (delegate_)
    delegate_->on_update(m);
}

}  // namespace shoal::gossip
