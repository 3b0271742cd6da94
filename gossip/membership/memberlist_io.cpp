// Packets in and out, gossip rounds and push/pull (PROTOCOLS.md §A4-A6). Outgoing messages carry
// as many queued broadcasts as fit in one UDP buffer (a compound), so state changes spread on
// traffic that is sent anyway; a gossip round every gossip interval sends what is left to a few
// random members. Push/pull exchanges the whole member table over a stream: on join with every
// seed, then periodically with one random member, which repairs whatever gossip missed.
#include <spdlog/spdlog.h>

#include "gossip/membership/memberlist.h"

namespace shoal::gossip {

namespace {
constexpr size_t kCompoundHeaderOverhead = 2;  // type byte + count
constexpr size_t kCompoundPartOverhead = 2;    // length prefix per part
}  // namespace

std::vector<Bytes> Memberlist::take_broadcasts(size_t overhead, size_t limit) {
  return broadcasts_.take(overhead, limit,
                          BroadcastQueue::retransmit_limit(config_.retransmit_mult, nodes_.size()));
}

void Memberlist::broadcast(const std::string& key, Bytes message, BroadcastQueue::Finished done) {
  broadcasts_.queue(key, std::move(message), std::move(done));
}

void Memberlist::queue_user_broadcast(Bytes payload, BroadcastQueue::Finished on_sent) {
  broadcasts_.queue({}, encode(UserPacket{std::move(payload)}), std::move(on_sent));
}

Status Memberlist::send_best_effort(const std::string& node, Bytes payload) {
  const Member* m = find(node);
  if (!m)
    return invalid_argument(node, "not a known member");
  send_raw(m->addr, encode(UserPacket{std::move(payload)}), m);
  return {};
}

void Memberlist::send_reliable(const std::string& node, Bytes payload,
                               std::function<void(Status)> done) {
  const Member* m = find(node);
  if (!m) {
    done(invalid_argument(node, "not a known member"));
    return;
  }
  auto request = seal_stream(encode_stream(UserStream{std::move(payload)}), config_.security);
  if (!request.ok()) {
    done(std::move(request).error());
    return;
  }
  std::weak_ptr<bool> token = alive_token_;
  transport_.send_stream(m->addr, std::move(*request), false, config_.tcp_timeout,
                         [token, done = std::move(done)](Result<Bytes> r) {
                           if (!token.lock())
                             return;
                           if (r.ok()) {
                             done({});
                           } else {
                             done(std::move(r).error());
                           }
                         });
}

void Memberlist::send_message(const NodeAddress& to, const Bytes& message, const Member* dest) {
  size_t available = config_.udp_buffer_size;
  available -= std::min(available, message.size() + kCompoundHeaderOverhead);
  if (config_.security.keyring && config_.security.verify_outgoing) {
    available -= std::min(available, kEncryptOverheadV1 + 16);
  }
  std::vector<Bytes> parts = take_broadcasts(kCompoundPartOverhead, available);
  if (parts.empty()) {
    send_raw(to, message, dest);
    return;
  }
  parts.insert(parts.begin(), message);
  auto compound = make_compound(parts);
  send_raw(to, compound.ok() ? *compound : message, dest);
}

void Memberlist::send_raw(const NodeAddress& to, const Bytes& payload, const Member* dest) {
  const Bytes with_crc = dest && dest->versions.pmax >= 5 ? add_crc(payload) : payload;
  auto sealed = seal_packet(with_crc, config_.security);
  if (!sealed.ok()) {
    spdlog::warn("gossip: cannot seal packet to {}: {}", to.str(), sealed.error().message());
    return;
  }
  transport_.send_packet(to, std::move(*sealed));
}

void Memberlist::on_packet(const NodeAddress& from, ByteView packet) {
  if (!running_)
    return;
  ++stats_.packets_received;
  auto opened = open_packet(packet, config_.security);
  if (!opened.ok()) {
    ++stats_.packets_undecryptable;
    spdlog::debug("gossip: dropping packet from {}: {}", from.str(), opened.error().message());
    return;
  }
  auto split = split_packet(*opened);
  if (!split.ok()) {
    ++stats_.packets_malformed;
    spdlog::debug("gossip: dropping packet from {}: {}", from.str(), split.error().message());
    return;
  }
  if (split->truncated) {
    spdlog::debug("gossip: compound from {} had {} truncated parts", from.str(), split->truncated);
  }
  for (const Bytes& message : split->messages)
    dispatch(from, message);
}

void Memberlist::dispatch(const NodeAddress& from, ByteView message) {
  auto decoded = decode_packet_message(message);
  if (!decoded.ok()) {
    ++stats_.packets_malformed;
    spdlog::debug("gossip: bad message from {}: {}", from.str(), decoded.error().message());
    return;
  }
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, Ping>)
          handle_ping(from, m);
        if constexpr (std::is_same_v<M, IndirectPing>)
          handle_indirect_ping(from, m);
        if constexpr (std::is_same_v<M, Ack>)
          handle_ack(m);
        if constexpr (std::is_same_v<M, Nack>)
          handle_nack(m);
        if constexpr (std::is_same_v<M, Suspect>)
          handle_suspect(m);
        if constexpr (std::is_same_v<M, Alive>)
          handle_alive(m, false);
        if constexpr (std::is_same_v<M, Dead>)
          handle_dead(m);
        if constexpr (std::is_same_v<M, UserPacket>) {
          if (delegate_)
            delegate_->notify_user_message(m.payload);
        }
      },
      *decoded);
}

std::optional<Bytes> Memberlist::on_stream(const NodeAddress& from, ByteView frame) {
  if (!running_)
    return std::nullopt;
  ++stats_.streams_received;
  auto message = decode_stream_frame(frame, config_.security);
  if (!message.ok()) {
    ++stats_.streams_rejected;
    spdlog::debug("gossip: bad stream from {}: {}", from.str(), message.error().message());
    auto reply =
        seal_stream(encode_stream(ErrResponse{message.error().message()}), config_.security);
    return reply.ok() ? std::optional<Bytes>(std::move(*reply)) : std::nullopt;
  }
  if (auto* pp = std::get_if<PushPull>(&*message)) {
    auto reply = seal_stream(local_push_pull(pp->header.join), config_.security);
    Status merged = merge_remote(*pp);
    if (!merged.ok()) {
      spdlog::warn("gossip: push/pull from {} refused: {}", from.str(), merged.error().message());
    }
    return reply.ok() ? std::optional<Bytes>(std::move(*reply)) : std::nullopt;
  }
  if (auto* user = std::get_if<UserStream>(&*message)) {
    if (delegate_)
      delegate_->notify_user_message(user->payload);
    return std::nullopt;
  }
  if (auto* ping = std::get_if<Ping>(&*message)) {
    if (!ping->node.empty() && ping->node != config_.name)
      return std::nullopt;
    auto reply = seal_stream(encode_stream(Ack{ping->seq_no, {}}), config_.security);
    return reply.ok() ? std::optional<Bytes>(std::move(*reply)) : std::nullopt;
  }
  return std::nullopt;
}

std::vector<const Member*> Memberlist::random_members(
    size_t k, const std::function<bool(const Member&)>& keep) {
  std::vector<const Member*> candidates;
  for (const auto& [name, m] : nodes_) {
    if (keep(m))
      candidates.push_back(&m);
  }
  std::shuffle(candidates.begin(), candidates.end(), rng_);
  if (candidates.size() > k)
    candidates.resize(k);
  return candidates;
}

void Memberlist::gossip_tick() {
  const TimePoint now = clock_.now();
  auto targets = random_members(static_cast<size_t>(config_.gossip_nodes), [&](const Member& m) {
    if (m.name == config_.name)
      return false;
    if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect)
      return true;
    return m.state == MemberState::kDead && now - m.state_change <= config_.gossip_to_the_dead_time;
  });
  size_t available = config_.udp_buffer_size - kCompoundHeaderOverhead;
  if (config_.security.keyring && config_.security.verify_outgoing) {
    available -= kEncryptOverheadV1 + 16;
  }
  for (const Member* target : targets) {
    std::vector<Bytes> parts = take_broadcasts(kCompoundPartOverhead, available);
    if (parts.empty())
      return;
    if (parts.size() == 1) {
      send_raw(target->addr, parts.front(), target);
    } else if (auto compound = make_compound(parts); compound.ok()) {
      send_raw(target->addr, *compound, target);
    }
  }
}

Bytes Memberlist::local_push_pull(bool join) {
  PushPull pp;
  pp.header.join = join;
  for (const auto& [name, m] : nodes_) {
    pp.nodes.push_back(PushNodeState{m.name, m.addr.ip_bytes(), m.addr.port, m.meta, m.incarnation,
                                     static_cast<int64_t>(m.state), m.versions.wire()});
  }
  if (delegate_)
    pp.user_state = delegate_->local_state(join);
  return encode_stream(pp);
}

Status Memberlist::merge_remote(const PushPull& remote) {
  SHOAL_TRY(verify_protocol(remote.nodes));
  merge_state(remote.nodes);
  if (delegate_ && !remote.user_state.empty()) {
    delegate_->merge_remote_state(remote.user_state, remote.header.join);
  }
  return {};
}

void Memberlist::push_pull_with(const NodeAddress& addr, bool join,
                                std::function<void(Status)> done) {
  auto request = seal_stream(local_push_pull(join), config_.security);
  if (!request.ok()) {
    done(std::move(request).error());
    return;
  }
  std::weak_ptr<bool> token = alive_token_;
  transport_.send_stream(addr, std::move(*request), true, config_.tcp_timeout,
                         [this, token, addr, done = std::move(done)](Result<Bytes> reply) {
                           if (!token.lock())
                             return;
                           if (!reply.ok()) {
                             done(std::move(reply).error());
                             return;
                           }
                           auto message = decode_stream_frame(*reply, config_.security);
                           if (!message.ok()) {
                             done(std::move(message).error());
                             return;
                           }
                           if (auto* err = std::get_if<ErrResponse>(&*message)) {
                             done(Error{"push/pull", addr.str(), 0, "remote error: " + err->error});
                             return;
                           }
                           auto* pp = std::get_if<PushPull>(&*message);
                           if (!pp) {
                             done(Error{"push/pull", addr.str(), 0, "reply is not a push/pull"});
                             return;
                           }
                           done(merge_remote(*pp));
                         });
}

void Memberlist::reconnect_tick() {
  if (leaving_)
    return;
  auto failed = random_members(
      1, [&](const Member& m) { return m.name != config_.name && m.state == MemberState::kDead; });
  if (failed.empty())
    return;
  const std::string name = failed.front()->name;
  push_pull_with(failed.front()->addr, true, [name](Status s) {
    if (!s.ok())
      spdlog::debug("gossip: reconnect to {} failed: {}", name, s.error().message());
  });
}

void Memberlist::push_pull_tick() {
  auto peer = random_members(
      1, [&](const Member& m) { return m.name != config_.name && m.state == MemberState::kAlive; });
  if (peer.empty())
    return;
  const std::string name = peer.front()->name;
  push_pull_with(peer.front()->addr, false, [name](Status s) {
    if (!s.ok())
      spdlog::debug("gossip: push/pull with {} failed: {}", name, s.error().message());
  });
}

}  // namespace shoal::gossip
