#include "control/daemon/gossip_node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>

namespace shoal::daemon {

using namespace std::chrono_literals;

template <typename F>
void GossipNode::post(F&& fn) {
  boost::asio::post(io_, std::forward<F>(fn));
}

Result<std::unique_ptr<GossipNode>> GossipNode::start(std::string name, gossip::NodeAddress bind) {
  auto node = std::make_unique<GossipNode>(Key{});
  gossip::TableAgentOptions options;
  options.name = std::move(name);
  options.bind = bind;
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
    agent_->db().watch(std::move(table), std::move(watcher));
  });
}

}  // namespace shoal::daemon
