#include "gossip/networkdb/network_db.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace shoal::gossip::networkdb {

namespace {
constexpr int kMaxCompoundDepth = 4;
constexpr size_t kPerMessageOverhead = 4;  // networkdb's estimate for compound framing
}  // namespace

NetworkDb::NetworkDb(std::string self, Clock& clock, NetworkDbConfig config)
    : self_(self),
      clock_(clock),
      config_(config),
      store_(std::move(self), config.store),
      rng_(config.random_seed ? config.random_seed : std::random_device{}()) {}

NetworkDb::~NetworkDb() {
  stop();
}

void NetworkDb::stop() {
  alive_ = std::make_shared<bool>(false);
}

void NetworkDb::every(Duration interval, void (NetworkDb::*tick)()) {
  std::weak_ptr<bool> token = alive_;
  auto loop = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_loop = loop;
  *loop = [this, token, interval, tick, weak_loop] {
    auto t = token.lock();
    if (!t || !*t)
      return;
    (this->*tick)();
    if (auto self = weak_loop.lock())
      clock_.schedule(interval, [self] { (*self)(); });
  };
  clock_.schedule(interval, [loop] { (*loop)(); });
}

void NetworkDb::attach(std::shared_ptr<Memberlist> list) {
  list_ = std::move(list);
  every(config_.gossip_interval, &NetworkDb::gossip_tick);
  every(config_.sync_interval, &NetworkDb::sync_tick);
  every(config_.reap_interval, &NetworkDb::reap_tick);
  // Queued now, it rides on the first gossip after memberlist joined.
  announce_join();
}

void NetworkDb::announce_join() {
  if (list_)
    list_->queue_user_broadcast(
        wrap(GossipType::kNodeEvent, store_.node_event(NodeEventType::kJoin)));
}

void NetworkDb::leave(Duration timeout, std::function<void()> done) {
  if (!list_) {
    done();
    return;
  }
  auto list = list_;
  auto started = std::make_shared<bool>(false);
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  // Runs once: when the LEAVE went out, or when waiting for it timed out.
  auto memberlist_leave = [list, timeout, started, shared_done] {
    if (*started)
      return;
    *started = true;
    list->leave(timeout, [shared_done] { (*shared_done)(); });
  };
  const NodeEvent ev = store_.node_event(NodeEventType::kLeave);
  if (list->num_alive() <= 1) {
    memberlist_leave();
    return;
  }
  list->queue_user_broadcast(wrap(GossipType::kNodeEvent, ev), memberlist_leave);
  clock_.schedule(timeout, memberlist_leave);
}

bool NetworkDb::in_sync(const std::string& network) const {
  auto it = networks_.find(network);
  return it != networks_.end() && it->second.in_sync;
}

size_t NetworkDb::queued_events(const std::string& network) const {
  auto it = networks_.find(network);
  return it == networks_.end() ? 0 : it->second.queue.size();
}

void NetworkDb::mark_in_sync(const std::string& network) {
  auto it = networks_.find(network);
  if (it != networks_.end() && !it->second.in_sync) {
    it->second.in_sync = true;
    spdlog::debug("networkdb: {} in sync for {}", self_, network);
  }
}

bool NetworkDb::may_rebroadcast(const std::string& network) {
  auto it = networks_.find(network);
  if (it == networks_.end())
    return false;
  if (!it->second.in_sync && clock_.now() >= it->second.sync_deadline)
    it->second.in_sync = true;  // best effort, as networkdb: never hold events for good
  return it->second.in_sync;
}

std::vector<std::string> NetworkDb::live_peers(const std::string& network) {
  std::vector<std::string> out;
  for (const std::string& p : store_.peers(network)) {
    auto m = list_ ? list_->member(p) : std::nullopt;
    if (m && m->state == MemberState::kAlive)
      out.push_back(p);
  }
  return out;
}

Status NetworkDb::join_network(const std::string& network) {
  const NetworkEvent ev = store_.join_network(network, clock_.now());
  auto [it, fresh] = networks_.try_emplace(network, config_.queue_limit);
  LocalNetwork& local = it->second;
  if (fresh) {
    local.generation = next_generation_++;
    local.sync_deadline = clock_.now() + config_.initial_sync_timeout;
  }
  if (list_)
    list_->queue_user_broadcast(wrap(GossipType::kNetworkEvent, ev));
  if (!fresh)
    return {};
  // Initial sync with every known member of the network. We are in sync when the first answer
  // arrives (handle), or when every request failed; with nobody to ask, at once.
  const auto peers = live_peers(network);
  local.syncs_pending = static_cast<int>(peers.size());
  local.in_sync = peers.empty();
  std::weak_ptr<bool> token = alive_;
  for (const std::string& peer : peers) {
    bulk_sync(peer, network, true, [this, token, network, gen = local.generation](Status s) {
      auto t = token.lock();
      if (!t || !*t || s.ok())
        return;
      auto n = networks_.find(network);
      if (n != networks_.end() && n->second.generation == gen && --n->second.syncs_pending <= 0)
        mark_in_sync(network);
    });
  }
  return {};
}

Status NetworkDb::leave_network(const std::string& network) {
  const NetworkEvent ev = store_.leave_network(network, clock_.now());
  networks_.erase(network);
  if (list_)
    list_->queue_user_broadcast(wrap(GossipType::kNetworkEvent, ev));
  return {};
}

void NetworkDb::queue_table_event(const TableEvent& ev) {
  auto it = networks_.find(ev.network_id);
  if (it == networks_.end())
    return;
  it->second.queue.queue(ev.table_name + "/" + ev.network_id + "/" + ev.key,
                         wrap(GossipType::kTableEvent, ev));
}

Status NetworkDb::create_entry(const std::string& table, const std::string& network,
                               const std::string& key, Bytes value) {
  SHOAL_ASSIGN_OR_RETURN(TableEvent ev,
                         store_.create(table, network, key, std::move(value), clock_.now()));
  queue_table_event(ev);
  return {};
}

Status NetworkDb::update_entry(const std::string& table, const std::string& network,
                               const std::string& key, Bytes value) {
  SHOAL_ASSIGN_OR_RETURN(TableEvent ev,
                         store_.update(table, network, key, std::move(value), clock_.now()));
  queue_table_event(ev);
  return {};
}

Status NetworkDb::delete_entry(const std::string& table, const std::string& network,
                               const std::string& key) {
  SHOAL_ASSIGN_OR_RETURN(TableEvent ev, store_.remove(table, network, key, clock_.now()));
  queue_table_event(ev);
  return {};
}

void NetworkDb::gossip_tick() {
  if (!list_)
    return;
  for (auto& [network, local] : networks_) {
    BroadcastQueue& queue = local.queue;
    if (queue.size() == 0)
      continue;
    auto peers = live_peers(network);
    if (peers.empty())
      continue;
    std::shuffle(peers.begin(), peers.end(), rng_);
    if (peers.size() > static_cast<size_t>(config_.gossip_peers))
      peers.resize(config_.gossip_peers);
    const int limit = BroadcastQueue::retransmit_limit(config_.retransmit_mult, peers.size() + 1);
    auto parts = queue.take(kPerMessageOverhead, config_.packet_budget, limit);
    if (parts.empty())
      continue;
    const Bytes compound = wrap(GossipType::kCompound, CompoundMessage{std::move(parts)});
    for (const std::string& peer : peers)
      (void)list_->send_best_effort(peer, compound);
  }
}

void NetworkDb::reap_tick() {
  store_.reap(clock_.now());
}

void NetworkDb::sync_tick() {
  for (const std::string& network : store_.networks()) {
    auto peers = live_peers(network);
    if (peers.empty())
      continue;
    std::uniform_int_distribution<size_t> pick(0, peers.size() - 1);
    bulk_sync(peers[pick(rng_)], network, true);
  }
}

void NetworkDb::bulk_sync(const std::string& peer, const std::string& network, bool unsolicited,
                          std::function<void(Status)> done) {
  if (!list_) {
    if (done)
      done(invalid_argument(peer, "not attached to a memberlist"));
    return;
  }
  CompoundMessage events;
  for (const TableEvent& ev : store_.snapshot(network, clock_.now())) {
    events.messages.push_back(wrap(GossipType::kTableEvent, ev));
  }
  const BulkSyncMessage msg{store_.table_clock().increment(),
                            unsolicited,
                            self_,
                            {network},
                            encode(GossipMessage{GossipType::kCompound, encode(events)})};
  list_->send_reliable(
      peer, wrap(GossipType::kBulkSync, msg), [peer, done = std::move(done)](Status s) {
        if (!s.ok())
          spdlog::debug("networkdb: bulk sync to {} failed: {}", peer, s.error().message());
        if (done)
          done(std::move(s));
      });
}

void NetworkDb::notify_user_message(ByteView payload) {
  auto msg = decode_gossip_message(payload);
  if (!msg.ok()) {
    spdlog::debug("networkdb: dropping message: {}", msg.error().message());
    return;
  }
  handle(*msg, false, 0);
}

void NetworkDb::handle(const GossipMessage& msg, bool from_bulk_sync, int depth) {
  const TimePoint now = clock_.now();
  switch (msg.type) {
    case GossipType::kTableEvent: {
      auto ev = decode_table_event(msg.data);
      if (!ev.ok())
        break;
      if (ev->node_name == self_) {
        if (auto reclaimed = store_.reclaim_own(*ev, now))
          queue_table_event(*reclaimed);
        break;
      }
      if (store_.apply(*ev, now) && !from_bulk_sync && may_rebroadcast(ev->network_id))
        queue_table_event(*ev);
      break;
    }
    case GossipType::kNetworkEvent: {
      auto ev = decode_network_event(msg.data);
      if (ev.ok() && store_.apply(*ev, now) && list_) {
        list_->queue_user_broadcast(wrap(GossipType::kNetworkEvent, *ev));
      }
      break;
    }
    case GossipType::kNodeEvent: {
      auto ev = decode_node_event(msg.data);
      // networkdb applies node events only about members it knows.
      if (!ev.ok() || !list_ || !list_->member(ev->node_name))
        break;
      if (store_.apply(*ev, now)) {
        list_->queue_user_broadcast(wrap(GossipType::kNodeEvent, *ev));
      }
      break;
    }
    case GossipType::kCompound: {
      if (depth >= kMaxCompoundDepth)
        return;
      auto compound = decode_compound(msg.data);
      if (!compound.ok())
        return;
      for (const Bytes& part : compound->messages) {
        auto inner = decode_gossip_message(part);
        if (inner.ok())
          handle(*inner, from_bulk_sync, depth + 1);
      }
      break;
    }
    case GossipType::kBulkSync: {
      auto bulk = decode_bulk_sync(msg.data);
      if (!bulk.ok())
        return;
      store_.table_clock().witness(bulk->ltime);
      auto payload = decode_gossip_message(bulk->payload);
      if (payload.ok())
        handle(*payload, true, depth + 1);
      if (!bulk->unsolicited) {
        // The answer to one of our bulk syncs: those networks are in sync now.
        for (const std::string& network : bulk->networks)
          mark_in_sync(network);
      } else {
        for (const std::string& network : bulk->networks) {
          if (store_.in_network(network))
            bulk_sync(bulk->node_name, network, false);
        }
      }
      break;
    }
    case GossipType::kPushPull: {
      auto pp = decode_network_push_pull(msg.data);
      if (pp.ok())
        store_.merge_network_state(*pp, now);
      break;
    }
    default:
      break;
  }
}

Bytes NetworkDb::local_state(bool /*join*/) {
  return wrap(GossipType::kPushPull, store_.network_state());
}

void NetworkDb::merge_remote_state(ByteView state, bool /*join*/) {
  auto msg = decode_gossip_message(state);
  if (msg.ok() && msg->type == GossipType::kPushPull)
    handle(*msg, false, 0);
}

void NetworkDb::on_join(const Member& m) {
  if (!store_.node_returned(m.name))
    return;
  // Back from a failure (a healed partition): what it missed and what we missed may be more than
  // gossip still carries, so sync every network we share now, as networkdb's reconnect does.
  for (const std::string& network : store_.networks()) {
    const auto peers = store_.peers(network);
    if (std::find(peers.begin(), peers.end(), m.name) != peers.end())
      bulk_sync(m.name, network, true);
  }
}

void NetworkDb::on_leave(const Member& m) {
  if (m.state == MemberState::kLeft) {
    store_.node_left(m.name, clock_.now());
  } else {
    store_.node_failed(m.name, clock_.now());
  }
}

}  // namespace shoal::gossip::networkdb
