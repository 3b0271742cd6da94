// Forwards the names that are not ours to the node's upstream resolvers over UDP, from the
// namespace of the thread that runs the io_context (the node's, the agent's): a task's namespace
// may have no route to them, and the node's resolv.conf may name a loopback resolver
// (127.0.0.53) that only the node can reach.
//
// Off-path spoofing (Kaminsky) is made hard as a resolver does: every attempt goes out from a
// socket of its own, connected to the upstream it asks, so its source port is a fresh one the
// kernel picks at random from the ephemeral range, and the kernel delivers to it only datagrams
// from that upstream's address and port. Its 16-bit ID comes from the kernel's CSPRNG
// (getrandom), and a reply is taken only with that ID and the same question (the asker's ID is
// restored in the reply). A forger must guess port and ID, about 2^31 tries, within one attempt.
// Upstreams are tried in order, each for attempt_timeout; when none answers, the asker gets
// SERVFAIL. At most max_pending queries are in flight (each holds one socket); beyond that the
// asker gets SERVFAIL at once rather than a silent drop.
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
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "dataplane/dns/dns_responder.h"
#include "dataplane/dns/upstream.h"

namespace shoal::dataplane::dns {

struct ForwarderConfig {
  std::vector<UpstreamServer> upstreams;
  std::chrono::milliseconds attempt_timeout{1000};  // per upstream
  // Capped at 1024: each query in flight holds a socket, and shoald's descriptors are finite.
  size_t max_pending = 256;
};

struct ForwarderStats {
  uint64_t sent = 0;
  uint64_t answered = 0;
  uint64_t servfail = 0;       // no upstream, all timed out, or over the pending cap
  uint64_t over_cap = 0;       // of which over the pending cap
  uint64_t stray_replies = 0;  // wrong ID, wrong sender or wrong question
  uint64_t socket_errors = 0;  // an attempt's socket could not be opened or connected
};

class DnsForwarder {
 public:
  // Receives the reply for the asker: the upstream's answer or SERVFAIL.
  using ReplyHandler = std::function<void(std::vector<uint8_t> reply)>;

  // Queries leave from the namespace of the thread that runs io (sockets are opened there).
  static Result<std::unique_ptr<DnsForwarder>> create(boost::asio::io_context& io,
                                                      ForwarderConfig config);
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
  void send_attempt(uint64_t serial);
  Status open_attempt_socket(Pending& pending);
  void await_reply(uint64_t serial);
  void on_readable(uint64_t serial, size_t attempt);
  // True when the datagram in buffer_ answered the query (which is then finished).
  bool take_datagram(uint64_t serial, size_t size, const boost::asio::ip::udp::endpoint& sender);
  void finish(uint64_t serial, std::vector<uint8_t> reply);
  void fail(uint64_t serial);

  boost::asio::io_context& io_;
  ForwarderConfig config_;
  std::unordered_map<uint64_t, std::unique_ptr<Pending>> pending_;  // by serial
  uint64_t next_serial_ = 0;
  std::vector<uint8_t> buffer_;  // one for all: a reply is read only once its socket is readable
  ForwarderStats stats_;
};

}  // namespace shoal::dataplane::dns
