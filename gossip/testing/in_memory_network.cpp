#include "gossip/testing/in_memory_network.h"

namespace shoal::gossip::testing {

class InMemoryNetwork::Endpoint : public Transport {
 public:
  Endpoint(InMemoryNetwork& net, NodeAddress self) : net_(net), self_(self) {}

  void send_packet(const NodeAddress& to, Bytes packet) override {
    ++net_.packets_sent_;
    std::bernoulli_distribution lose(net_.loss_);
    if (net_.blocked(self_, to) || lose(net_.rng_)) {
      ++net_.packets_dropped_;
      return;
    }
    net_.clock_.schedule(net_.latency_, [this, to, from = self_, packet = std::move(packet)] {
      auto it = net_.handlers_.find(to);
      if (it != net_.handlers_.end() && !net_.blocked(from, to))
        it->second->on_packet(from, packet);
    });
  }

  void send_stream(const NodeAddress& to, Bytes request, bool expect_reply, Duration timeout,
                   StreamDone done) override {
    auto finished = std::make_shared<bool>(false);
    auto shared_done = std::make_shared<StreamDone>(std::move(done));
    net_.clock_.schedule(timeout, [finished, shared_done, to] {
      if (*finished)
        return;
      *finished = true;
      (*shared_done)(Error{"stream", to.str(), ETIMEDOUT, "i/o timeout"});
    });
    net_.clock_.schedule(net_.latency_, [this, to, from = self_, request = std::move(request),
                                         expect_reply, finished, shared_done] {
      auto it = net_.handlers_.find(to);
      if (it == net_.handlers_.end() || net_.blocked(from, to)) {
        if (!*finished)
          *finished = true, (*shared_done)(Error{"connect", to.str(), ECONNREFUSED, {}});
        return;
      }
      std::optional<Bytes> reply = it->second->on_stream(from, request);
      net_.clock_.schedule(net_.latency_, [finished, shared_done, expect_reply, to,
                                           reply = std::move(reply)]() mutable {
        if (*finished)
          return;
        *finished = true;
        if (expect_reply && !reply) {
          (*shared_done)(Error{"read reply", to.str(), 0, "stream closed without a reply"});
          return;
        }
        (*shared_done)(expect_reply ? std::move(*reply) : Bytes{});
      });
    });
  }

 private:
  InMemoryNetwork& net_;
  NodeAddress self_;
};

std::unique_ptr<Transport> InMemoryNetwork::attach(NodeAddress addr, TransportHandler* handler) {
  handlers_[addr] = handler;
  return std::make_unique<Endpoint>(*this, addr);
}

void InMemoryNetwork::isolate(NodeAddress addr, bool isolated) {
  if (isolated) {
    isolated_.insert(addr);
  } else {
    isolated_.erase(addr);
  }
}

}  // namespace shoal::gossip::testing
