#include "control/agent/gossip/gossip_node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/printable.h"
#include "gossip/keys/gossip_keys.h"

namespace shoal::agent {

using namespace std::chrono_literals;

template <typename F>
void GossipNode::post(F&& fn) {
  boost::asio::post(io_, std::forward<F>(fn));
}

namespace {

std::vector<gossip::Bytes> as_bytes(const std::vector<std::string>& keys) {
  std::vector<gossip::Bytes> out;
  for (const auto& key : keys)
    out.emplace_back(key.begin(), key.end());
  return out;
}

// The keys kept by an earlier start, or one of our own that opens nothing anybody sends.
Result<std::vector<gossip::Bytes>> first_keys(const std::string& keys_file) {
  auto kept = read_kept_keys(keys_file);
  if (kept.ok() && !kept->empty())
    return as_bytes(*kept);
  if (!kept.ok() && kept.error().errnum != ENOENT)
    spdlog::warn("gossip keys: {}", kept.error().message());
  SHOAL_ASSIGN_OR_RETURN(auto own, gossip::make_gossip_key(0));
  return std::vector<gossip::Bytes>{gossip::Bytes(own.key.begin(), own.key.end())};
}

}  // namespace

Result<std::vector<std::string>> read_kept_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return sys_error("open", path, errno);
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_array() || json.size() > gossip::kGossipKeysKept)
    return invalid_argument(path, "is not a list of gossip keys");
  std::vector<std::string> keys;
  for (const auto& entry : json) {
    if (!entry.is_string())
      return invalid_argument(path, "is not a list of gossip keys");
    SHOAL_ASSIGN_OR_RETURN(auto key, gossip::Keyring::decode_base64_key(entry.get<std::string>()));
    keys.emplace_back(key.begin(), key.end());
  }
  return keys;
}

Result<std::unique_ptr<GossipNode>> GossipNode::start(std::string name, gossip::NodeAddress bind,
                                                      std::string keys_file) {
  auto node = std::make_unique<GossipNode>(Key{});
  gossip::TableAgentOptions options;
  options.name = std::move(name);
  options.bind = bind;
  SHOAL_ASSIGN_OR_RETURN(options.encrypt_keys, first_keys(keys_file));
  node->keys_file_ = std::move(keys_file);
  node->name_ = options.name;
  SHOAL_ASSIGN_OR_RETURN(node->agent_, gossip::TableAgent::start(node->io_, options, {}));
  node->thread_ = std::thread([n = node.get()] { n->io_.run(); });
  return node;
}

GossipNode::~GossipNode() {
  if (!thread_.joinable()) {
    return;  // start() failed: no member, no thread
  }
  std::promise<void> left;
  post([this, &left] { agent_->leave([&left] { left.set_value(); }); });
  if (left.get_future().wait_for(6s) != std::future_status::ready) {
    spdlog::warn("gossip: leave did not finish in time");
  }
  std::promise<void> stopped;
  post([this, &stopped] {
    agent_.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  work_.reset();
  io_.stop();
  thread_.join();
}

void GossipNode::set_keys(const std::vector<std::string>& keys) {
  if (keys.empty())
    return;
  {
    std::lock_guard lock(keys_mutex_);
    if (keys == keys_)
      return;
    keys_ = keys;
  }
  auto kept = nlohmann::json::array();
  for (const auto& key : keys)
    kept.push_back(gossip::base64_key(key));
  if (auto saved = write_file_atomically(keys_file_, kept.dump() + "\n", 0600); !saved.ok())
    spdlog::warn("gossip keys: {}", saved.error().message());
  post([this, bytes = as_bytes(keys)]() mutable {
    if (auto installed = agent_->set_keys(std::move(bytes)); !installed.ok())
      spdlog::warn("gossip keys: {}", installed.error().message());
  });
}

void GossipNode::join(const std::vector<gossip::NodeAddress>& peers) {
  post([this, peers] {
    std::vector<gossip::NodeAddress> missing;
    auto members = agent_->memberlist().members();
    for (const auto& peer : peers) {
      bool alive = false;
      for (const auto& m : members) {
        alive |= m.addr.ip == peer.ip && m.addr.port == peer.port &&
                 m.state == gossip::MemberState::kAlive;
      }
      if (!alive)
        missing.push_back(peer);
    }
    if (missing.empty())
      return;
    agent_->memberlist().join(missing, [](size_t joined, std::vector<Error> errors) {
      if (joined == 0 && !errors.empty()) {
        spdlog::debug("gossip join: {}", errors.front().message());
      }
    });
  });
}

void GossipNode::set_networks(const std::set<std::string>& networks) {
  post([this, networks] {
    for (const auto& network : networks) {
      if (networks_.insert(network).second) {
        if (auto joined = agent_->db().join_network(network); !joined.ok()) {
          spdlog::warn("gossip: {}", joined.error().message());
        }
      }
    }
    for (auto it = networks_.begin(); it != networks_.end();) {
      if (networks.contains(*it)) {
        ++it;
        continue;
      }
      if (auto left = agent_->db().leave_network(*it); !left.ok()) {
        spdlog::warn("gossip: {}", left.error().message());
      }
      it = networks_.erase(it);
    }
  });
}

void GossipNode::put(std::string table, std::string network, std::string key, gossip::Bytes value) {
  post([this, table = std::move(table), network = std::move(network), key = std::move(key),
        value = std::move(value)]() mutable {
    if (networks_.insert(network).second)
      (void)agent_->db().join_network(network);
    auto created = agent_->db().create_entry(table, network, key, value);
    if (!created.ok()) {
      auto updated = agent_->db().update_entry(table, network, key, std::move(value));
      if (!updated.ok())
        spdlog::warn("gossip: {}", updated.error().message());
    }
  });
}

void GossipNode::erase(std::string table, std::string network, std::string key) {
  post([this, table = std::move(table), network = std::move(network), key = std::move(key)] {
    auto deleted = agent_->db().delete_entry(table, network, key);
    if (!deleted.ok())
      spdlog::debug("gossip: {}", deleted.error().message());
  });
}

void GossipNode::watch(std::string table, Watcher watcher) {
  post([this, table = std::move(table), watcher = std::move(watcher)]() mutable {
    auto held = watchers_.emplace(table, std::move(watcher));
    agent_->db().watch(std::move(table), [this, held](const gossip::networkdb::WatchEvent& event) {
      deliver(held->second, event);
    });
  });
}

void GossipNode::set_view(agent::SwarmView view) {
  post([this, view = std::move(view)]() mutable {
    if (view == view_)
      return;
    view_ = std::move(view);
    redeliver();
  });
}

void GossipNode::deliver(const Watcher& watcher, gossip::networkdb::WatchEvent event) {
  if (event.type != gossip::networkdb::WatchEventType::kDelete) {
    if (auto trusted = agent::check_row(view_, name_, event); !trusted.ok()) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_refusal_log_ >= 1s) {  // a member sending garbage must not flood the log
        spdlog::warn("gossip: row {} of {} from {} refused: {} ({} more refused unlogged)",
                     printable_for_log(event.key), event.table, printable_for_log(event.owner),
                     printable_for_log(trusted.error().message()), refusals_unlogged_);
        last_refusal_log_ = now;
        refusals_unlogged_ = 0;
      } else {
        ++refusals_unlogged_;
      }
      event.type = gossip::networkdb::WatchEventType::kDelete;
    }
  }
  watcher(event);
}

void GossipNode::redeliver() {
  auto& store = agent_->db().store();
  for (const auto& [table, watcher] : watchers_) {
    for (const auto& network : store.networks()) {
      for (auto& [key, value] : store.entries(table, network)) {
        auto entry = store.get(table, network, key);
        deliver(watcher, {gossip::networkdb::WatchEventType::kUpdate, table, network, key,
                          std::move(value), entry ? entry->owner : std::string()});
      }
    }
  }
}

}  // namespace shoal::agent
