// Failure detection: one probe per probe interval, round-robin over a shuffled member list
// (PROTOCOLS.md §A8). A probe is a direct ping; after the probe timeout, indirect pings through
// up to `indirect_checks` other members plus a TCP ping; and at the end of the health-scaled
// interval, a verdict. Helpers that were asked for a nack and send none count against our own
// health (Lifeguard): if even the helpers cannot be heard, the problem is probably local, and
// the awareness score slows our probing down instead of letting us accuse healthy peers.
#include <spdlog/spdlog.h>

#include "gossip/membership/memberlist.h"

namespace shoal::gossip {

struct Memberlist::ProbeState {
  std::string target;
  uint32_t seq = 0;
  TimePoint deadline;
  int expected_nacks = 0;
  int nacks = 0;
  bool tcp_ok = false;
  bool done = false;
};

uint32_t Memberlist::set_ack_handler(Duration timeout, AckHandler handler) {
  // Bounded: when full, the oldest-numbered handler is dropped (its probe simply times out).
  if (ack_handlers_.size() >= config_.max_pending_acks) {
    auto oldest = std::min_element(ack_handlers_.begin(), ack_handlers_.end(),
                                   [](const auto& a, const auto& b) { return a.first < b.first; });
    remove_ack_handler(oldest->first);
  }
  const uint32_t seq = next_seq();
  handler.timer = after(timeout, [this, seq] { ack_handlers_.erase(seq); });
  ack_handlers_[seq] = std::move(handler);
  return seq;
}

void Memberlist::remove_ack_handler(uint32_t seq) {
  auto it = ack_handlers_.find(seq);
  if (it == ack_handlers_.end())
    return;
  clock_.cancel(it->second.timer);
  ack_handlers_.erase(it);
}

void Memberlist::probe_tick() {
  if (probe_in_flight_ || leaving_)
    return;
  for (size_t checked = 0; checked <= probe_order_.size(); ++checked) {
    if (probe_index_ >= probe_order_.size()) {
      reap_and_shuffle();
      probe_index_ = 0;
      continue;
    }
    const Member* m = find(probe_order_[probe_index_++]);
    if (!m || m->name == config_.name || m->state == MemberState::kDead ||
        m->state == MemberState::kLeft) {
      continue;
    }
    probe_node(*m);
    return;
  }
}

void Memberlist::probe_node(const Member& target) {
  auto probe = std::make_shared<ProbeState>();
  probe->target = target.name;
  const Duration interval = awareness_.scale(config_.probe_interval);
  probe->deadline = clock_.now() + interval;
  probe_in_flight_ = true;

  AckHandler handler;
  handler.on_ack = [this, probe] { finish_probe(probe, true); };
  handler.on_nack = [probe] { ++probe->nacks; };
  probe->seq = set_ack_handler(interval, std::move(handler));

  const Ping ping{probe->seq, target.name, config_.advertise.ip_bytes(), config_.advertise.port,
                  config_.name};
  if (target.state == MemberState::kAlive) {
    send_message(target.addr, encode(ping), &target);
  } else {
    // Tell a suspect why we ask, so that it can refute at once.
    auto compound = make_compound(
        {encode(ping), encode(Suspect{target.incarnation, target.name, config_.name})});
    if (compound.ok())
      send_raw(target.addr, *compound, &target);
  }
  after(config_.probe_timeout, [this, probe] {
    if (!probe->done)
      start_indirect_probes(probe);
  });
  after(interval, [this, probe] {
    if (!probe->done)
      finish_probe(probe, probe->tcp_ok);
  });
}

void Memberlist::start_indirect_probes(const std::shared_ptr<ProbeState>& probe) {
  const Member* target = find(probe->target);
  if (!target) {
    finish_probe(probe, true);  // reaped meanwhile: nothing to accuse
    return;
  }
  const auto helpers =
      random_members(static_cast<size_t>(config_.indirect_checks), [&](const Member& m) {
        return m.name != config_.name && m.name != target->name && m.state == MemberState::kAlive;
      });
  for (const Member* helper : helpers) {
    const bool nack = helper->versions.pmax >= 4;
    probe->expected_nacks += nack;
    const IndirectPing req{
        probe->seq, target->addr.ip_bytes(),      target->addr.port,      target->name,
        nack,       config_.advertise.ip_bytes(), config_.advertise.port, config_.name};
    send_message(helper->addr, encode(req), helper);
  }
  if (!config_.disable_tcp_pings && target->versions.pmax >= 3) {
    const Ping ping{probe->seq, target->name, config_.advertise.ip_bytes(), config_.advertise.port,
                    config_.name};
    auto request = seal_stream(encode_stream(ping), config_.security);
    const Duration left = probe->deadline - clock_.now();
    if (request.ok() && left > Duration::zero()) {
      std::weak_ptr<bool> token = alive_token_;
      transport_.send_stream(target->addr, std::move(*request), true, left,
                             [this, token, probe](Result<Bytes> reply) {
                               if (!token.lock() || !reply.ok())
                                 return;
                               auto message = decode_stream_frame(*reply, config_.security);
                               if (message.ok() && std::holds_alternative<Ack>(*message) &&
                                   std::get<Ack>(*message).seq_no == probe->seq) {
                                 probe->tcp_ok = true;
                               }
                             });
    }
  }
}

void Memberlist::finish_probe(const std::shared_ptr<ProbeState>& probe, bool success) {
  if (probe->done)
    return;
  probe->done = true;
  probe_in_flight_ = false;
  remove_ack_handler(probe->seq);
  if (success) {
    awareness_.apply_delta(-1);
    return;
  }
  // Lifeguard: missing nacks mean we may be the one with the problem.
  int delta = 1;
  if (probe->expected_nacks > 0)
    delta = std::max(0, probe->expected_nacks - probe->nacks);
  awareness_.apply_delta(delta);
  const Member* target = find(probe->target);
  if (!target || target->state == MemberState::kDead || target->state == MemberState::kLeft) {
    return;
  }
  spdlog::info("gossip: suspect {} has failed, no acks received", target->name);
  handle_suspect(Suspect{target->incarnation, target->name, config_.name});
}

void Memberlist::handle_ping(const NodeAddress& from, const Ping& ping) {
  if (!ping.node.empty() && ping.node != config_.name) {
    spdlog::debug("gossip: dropping ping meant for {}", ping.node);
    return;
  }
  NodeAddress reply_to = from;
  if (!ping.source_addr.empty() && ping.source_port != 0) {
    auto source = NodeAddress::from_wire(ping.source_addr, ping.source_port);
    if (source.ok())
      reply_to = *source;
  }
  send_message(reply_to, encode(Ack{ping.seq_no, {}}), nullptr);
}

void Memberlist::handle_indirect_ping(const NodeAddress& from, const IndirectPing& req) {
  auto target = NodeAddress::from_wire(req.target, req.port ? req.port : config_.advertise.port);
  if (!target.ok())
    return;
  NodeAddress requester = from;
  if (!req.source_addr.empty() && req.source_port != 0) {
    auto source = NodeAddress::from_wire(req.source_addr, req.source_port);
    if (source.ok())
      requester = *source;
  }
  auto answered = std::make_shared<bool>(false);
  AckHandler relay;
  relay.on_ack = [this, answered, requester, seq = req.seq_no] {
    *answered = true;
    send_message(requester, encode(Ack{seq, {}}), nullptr);
  };
  const uint32_t local_seq = set_ack_handler(config_.probe_timeout, std::move(relay));
  send_message(*target,
               encode(Ping{local_seq, req.node, config_.advertise.ip_bytes(),
                           config_.advertise.port, config_.name}),
               find(req.node));
  if (req.nack) {
    after(config_.probe_timeout, [this, answered, requester, seq = req.seq_no] {
      if (!*answered)
        send_message(requester, encode(Nack{seq}), nullptr);
    });
  }
}

void Memberlist::handle_ack(const Ack& ack) {
  auto it = ack_handlers_.find(ack.seq_no);
  if (it == ack_handlers_.end())
    return;
  auto on_ack = std::move(it->second.on_ack);
  remove_ack_handler(ack.seq_no);
  if (on_ack)
    on_ack();
}

void Memberlist::handle_nack(const Nack& nack) {
  auto it = ack_handlers_.find(nack.seq_no);
  if (it != ack_handlers_.end() && it->second.on_nack)
    it->second.on_nack();
}

}  // namespace shoal::gossip
