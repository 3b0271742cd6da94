// Membership rules: how alive, suspect and dead messages and push/pull state change the member
// table (PROTOCOLS.md §A9). Incarnation numbers order the claims about one node: only the node
// itself raises its incarnation, to refute a suspicion or an accusation of death, so any claim
// with a lower incarnation is stale and ignored. Dead beats alive at equal incarnation, alive
// needs a strictly higher one, and a node that hears itself accused answers with a higher one.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "gossip/membership/memberlist.h"

namespace shoal::gossip {

Alive Memberlist::self_alive() const {
  return Alive{incarnation_,           config_.name, config_.advertise.ip_bytes(),
               config_.advertise.port, meta_,        config_.versions.wire()};
}

void Memberlist::insert_probe_position(const std::string& name) {
  // A random position, so that a new node is probed within one round on average.
  std::uniform_int_distribution<size_t> pick(0, probe_order_.size());
  probe_order_.insert(probe_order_.begin() + static_cast<std::ptrdiff_t>(pick(rng_)), name);
}

void Memberlist::reap_and_shuffle() {
  const TimePoint now = clock_.now();
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const Member& m = it->second;
    const bool gone = m.state == MemberState::kDead || m.state == MemberState::kLeft;
    if (gone && m.name != config_.name && now - m.state_change > config_.gossip_to_the_dead_time) {
      std::erase(probe_order_, m.name);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  std::shuffle(probe_order_.begin(), probe_order_.end(), rng_);
}

void Memberlist::handle_alive(const Alive& a, bool bootstrap) {
  if (leaving_ && a.node == config_.name)
    return;
  if (a.vsn.size() >= 3) {
    const Versions v = Versions::from_wire(a.vsn);
    if (v.pmin == 0 || v.pmax == 0 || v.pmin > v.pmax) {
      spdlog::warn("gossip: ignoring alive for {}: invalid protocol versions", a.node);
      return;
    }
  }
  auto addr = NodeAddress::from_wire(a.addr, a.port ? a.port : config_.advertise.port);
  if (!addr.ok()) {
    spdlog::warn("gossip: ignoring alive for {}: {}", a.node, addr.error().message());
    return;
  }
  Member* state = find(a.node);
  bool updates_address = false;
  if (!state) {
    if (nodes_.size() >= config_.max_members) {
      spdlog::warn("gossip: ignoring alive for {}: member table full", a.node);
      return;
    }
    Member fresh;
    fresh.name = a.node;
    fresh.addr = *addr;
    fresh.state = MemberState::kDead;  // becomes alive below; a join from "not there"
    state = &nodes_.emplace(a.node, std::move(fresh)).first->second;
    insert_probe_position(a.node);
  } else if (state->addr != *addr) {
    if (state->state != MemberState::kLeft) {
      spdlog::warn("gossip: conflicting address for {}: have {}, alive says {}", a.node,
                   state->addr.str(), addr->str());
      return;
    }
    updates_address = true;  // a left node's name may come back elsewhere
  }
  const bool is_self = a.node == config_.name;
  // A new node starts at incarnation 0, so its first alive (incarnation >= 1) is accepted.
  if (a.incarnation <= state->incarnation && !is_self && !updates_address)
    return;
  if (a.incarnation < state->incarnation && is_self)
    return;

  clear_suspicion(a.node);
  const MemberState old_state = state->state;
  const Bytes old_meta = state->meta;

  if (!bootstrap && is_self) {
    if (a.incarnation == state->incarnation && a.meta == meta_ &&
        a.vsn == config_.versions.wire()) {
      return;
    }
    refute(*state, a.incarnation);
    spdlog::warn("gossip: refuting an alive message about ourselves (incarnation {})",
                 a.incarnation);
  } else {
    broadcast(a.node, encode(a));
    if (!a.vsn.empty())
      state->versions = Versions::from_wire(a.vsn);
    state->incarnation = a.incarnation;
    state->meta = a.meta;
    state->addr = *addr;
    if (state->state != MemberState::kAlive) {
      state->state = MemberState::kAlive;
      state->state_change = clock_.now();
    }
  }
  if (is_self)
    return;
  if (old_state == MemberState::kDead || old_state == MemberState::kLeft) {
    notify_join(*state);
  } else if (old_meta != state->meta) {
    notify_update(*state);
  }
}

void Memberlist::handle_suspect(const Suspect& s) {
  Member* state = find(s.node);
  if (!state || s.incarnation < state->incarnation)
    return;
  if (auto it = suspicions_.find(s.node); it != suspicions_.end()) {
    if (it->second.suspicion.confirm(s.from)) {
      broadcast(s.node, encode(s));
      arm_suspicion_timer(s.node);  // the deadline moved closer
    }
    return;
  }
  if (state->state != MemberState::kAlive)
    return;
  if (s.node == config_.name) {
    refute(*state, s.incarnation);
    return;
  }
  broadcast(s.node, encode(s));
  state->incarnation = s.incarnation;
  state->state = MemberState::kSuspect;
  state->state_change = clock_.now();

  // k confirmations are expected from other members (not us, not the suspect).
  const size_t n = nodes_.size();
  int k = config_.suspicion_mult - 2;
  if (static_cast<int64_t>(n) - 2 < k)
    k = 0;
  const Duration min = suspicion_min_timeout(config_.suspicion_mult, n, config_.probe_interval);
  const Duration max = config_.suspicion_max_timeout_mult * min;
  suspicions_.emplace(
      s.node, SuspicionEntry{Suspicion(s.from, k, min, max, clock_.now()), 0, state->state_change});
  arm_suspicion_timer(s.node);
}

void Memberlist::arm_suspicion_timer(const std::string& name) {
  auto it = suspicions_.find(name);
  if (it == suspicions_.end())
    return;
  if (it->second.timer)
    clock_.cancel(it->second.timer);
  const TimePoint deadline = it->second.suspicion.deadline();
  const Duration delay = std::max(Duration::zero(), deadline - clock_.now());
  const TimePoint change = it->second.state_change;
  it->second.timer = after(delay, [this, name, change] {
    Member* state = find(name);
    suspicions_.erase(name);
    if (state && state->state == MemberState::kSuspect && state->state_change == change) {
      spdlog::info("gossip: marking {} as failed, suspect timeout reached", name);
      handle_dead(Dead{state->incarnation, name, config_.name});
    }
  });
}

void Memberlist::clear_suspicion(const std::string& name) {
  auto it = suspicions_.find(name);
  if (it == suspicions_.end())
    return;
  if (it->second.timer)
    clock_.cancel(it->second.timer);
  suspicions_.erase(it);
}

void Memberlist::handle_dead(const Dead& d) {
  Member* state = find(d.node);
  if (!state || d.incarnation < state->incarnation)
    return;
  clear_suspicion(d.node);
  if (state->state == MemberState::kDead || state->state == MemberState::kLeft)
    return;
  if (d.node == config_.name) {
    if (!leaving_) {
      refute(*state, d.incarnation);
      return;
    }
  } else {
    broadcast(d.node, encode(d));
  }
  state->incarnation = d.incarnation;
  state->state = d.node == d.from ? MemberState::kLeft : MemberState::kDead;
  state->state_change = clock_.now();
  if (d.node != config_.name)
    notify_leave(*state);
}

void Memberlist::refute(Member& self, uint32_t accused_incarnation) {
  incarnation_ = std::max(incarnation_ + 1, accused_incarnation + 1);
  self.incarnation = incarnation_;
  awareness_.apply_delta(1);
  broadcast(config_.name, encode(self_alive()));
}

Status Memberlist::verify_protocol(const std::vector<PushNodeState>& remote) const {
  uint8_t max_pmin = 0, min_pmax = 255, max_dmin = 0, min_dmax = 255;
  auto widen = [&](const Versions& v) {
    max_pmin = std::max(max_pmin, v.pmin), min_pmax = std::min(min_pmax, v.pmax);
    max_dmin = std::max(max_dmin, v.dmin), min_dmax = std::min(min_dmax, v.dmax);
  };
  for (const PushNodeState& r : remote) {
    if (r.state == static_cast<int64_t>(MemberState::kAlive) && !r.vsn.empty()) {
      widen(Versions::from_wire(r.vsn));
    }
  }
  for (const auto& [name, m] : nodes_) {
    if (m.state == MemberState::kAlive)
      widen(m.versions);
  }
  auto check = [&](const std::string& name, const Versions& v) -> Status {
    if (v.pcur < max_pmin || v.pcur > min_pmax) {
      return Error{"verify protocol", name, 0,
                   "protocol version " + std::to_string(v.pcur) + " is incompatible"};
    }
    if (v.dcur < max_dmin || v.dcur > min_dmax) {
      return Error{"verify protocol", name, 0,
                   "delegate protocol version " + std::to_string(v.dcur) + " is incompatible"};
    }
    return {};
  };
  for (const PushNodeState& r : remote) {
    if (!r.vsn.empty())
      SHOAL_TRY(check(r.name, Versions::from_wire(r.vsn)));
  }
  for (const auto& [name, m] : nodes_)
    SHOAL_TRY(check(name, m.versions));
  return {};
}

void Memberlist::merge_state(const std::vector<PushNodeState>& remote) {
  for (const PushNodeState& r : remote) {
    switch (static_cast<MemberState>(r.state)) {
      case MemberState::kAlive:
        handle_alive(Alive{r.incarnation, r.name, r.addr, r.port, r.meta, r.vsn}, false);
        break;
      case MemberState::kLeft:
        handle_dead(Dead{r.incarnation, r.name, r.name});
        break;
      case MemberState::kDead:  // prefer suspecting over declaring dead on hearsay
      case MemberState::kSuspect:
        handle_suspect(Suspect{r.incarnation, r.name, config_.name});
        break;
      default:
        break;
    }
  }
}

}  // namespace shoal::gossip
