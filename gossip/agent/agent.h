// A complete gossip member on real sockets: Asio clock and transport, the Memberlist and the Serf
// compatibility delegate, wired together on one io_context thread. Used by the shoal-gossip
// binary and by real-socket tests.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gossip/memberlist/keyring.h"
#include "gossip/membership/memberlist.h"
#include "gossip/net/asio_clock.h"
#include "gossip/net/asio_transport.h"
#include "gossip/serf/serf_member.h"

namespace shoal::gossip {

struct AgentOptions {
  std::string name;
  NodeAddress bind;
  std::vector<NodeAddress> join;
  // Keyring: the first key encrypts, every key is tried for decryption (rotation: install the
  // new key everywhere as a secondary, then make it primary, then drop the old one).
  std::vector<Bytes> encrypt_keys;
  serf::Tags tags;
  bool fast_timers = false;  // Config::local() instead of Config::lan(), for tests
};

class Agent {
 public:
  // Binds the sockets and starts the member; join() is separate so callers can report failures.
  static Result<std::unique_ptr<Agent>> start(boost::asio::io_context& io, AgentOptions options,
                                              serf::SerfMember::Sink sink);
  ~Agent();

  void join(Memberlist::JoinDone done);
  // Serf leave intent, then memberlist leave; `done` runs when both went out (or timed out).
  void leave(std::function<void()> done);
  Memberlist& memberlist() { return *list_; }

 private:
  Agent(boost::asio::io_context& io, AgentOptions options);

  AgentOptions options_;
  std::optional<Keyring> keyring_;
  AsioClock clock_;
  std::unique_ptr<AsioTransport> transport_;
  std::unique_ptr<serf::SerfMember> serf_;
  std::shared_ptr<Memberlist> list_;
};

}  // namespace shoal::gossip
