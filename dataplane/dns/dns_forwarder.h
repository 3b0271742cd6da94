// Forwards the names that are not ours to the node's upstream resolvers over UDP, from one socket
// opened in the node's (the agent's) namespace: a task's namespace may have no route to them, and
// the node's resolv.conf may name a loopback resolver (127.0.0.53) that only the node can reach.
//
// Each query gets a fresh random ID (the asker's ID is restored in the reply), so that asks from
// many task namespaces never collide, and a reply is accepted only from an upstream the query was
// sent to, with that ID and the same question. Upstreams are tried in order, each for
// attempt_timeout; when none answers, the asker gets SERVFAIL. At most max_pending queries are in
// flight; beyond that the asker gets SERVFAIL at once rather than a silent drop.
//
// Single-threaded: every call and every reply callback runs on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "dataplane/dns/dns_responder.h"
#include "dataplane/dns/upstream.h"

namespace shoal::dataplane::dns {

struct ForwarderConfig {
  std::vector<UpstreamServer> upstreams;
  std::chrono::milliseconds attempt_timeout{1000};  // per upstream
  size_t max_pending = 1024;                        // capped at 16384 (IDs stay easy to find)
};

struct ForwarderStats {
  uint64_t sent = 0;
  uint64_t answered = 0;
  uint64_t servfail = 0;       // no upstream, all timed out, or over the pending cap
  uint64_t over_cap = 0;       // of which over the pending cap
  uint64_t stray_replies = 0;  // unknown ID, wrong sender or wrong question
};

class DnsForwarder {
 public:
  // Receives the reply for the asker: the upstream's answer or SERVFAIL.
  using ReplyHandler = std::function<void(std::vector<uint8_t> reply)>;

  // socket: an unbound or bound IPv4 UDP socket, opened in the namespace queries leave from.
  static Result<std::unique_ptr<DnsForwarder>> create(boost::asio::io_context& io,
                                                      ForwarderConfig config, UniqueFd socket);
  ~DnsForwarder();
  DnsForwarder(const DnsForwarder&) = delete;
  DnsForwarder& operator=(const DnsForwarder&) = delete;

  // Calls reply exactly once, later, on the io thread (unless the forwarder is destroyed first).
  void forward(DecodedQuery query, ReplyHandler reply);

  size_t pending() const { return pending_.size(); }
  const ForwarderStats& stats() const { return stats_; }
  const ForwarderConfig& config() const { return config_; }

 private:
  struct Pending;

  DnsForwarder(boost::asio::io_context& io, ForwarderConfig config);
  void send_attempt(uint16_t id);
  void finish(uint16_t id, std::vector<uint8_t> reply);
  void fail(uint16_t id);
  void receive();
  void on_datagram(size_t size);

  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket socket_;
  ForwarderConfig config_;
  std::unordered_map<uint16_t, std::unique_ptr<Pending>> pending_;
  std::mt19937 random_;
  uint64_t next_serial_ = 0;
  std::vector<uint8_t> buffer_;
  boost::asio::ip::udp::endpoint sender_;
  ForwarderStats stats_;
};

}  // namespace shoal::dataplane::dns
