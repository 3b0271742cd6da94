// One task namespace's resolver endpoint: a UDP socket and a TCP listener bound to
// 127.0.0.11:53 inside that namespace (sockets stay in the namespace they were created in), and
// the networks the task is attached to, which scope every answer.
//
// UDP: each datagram is one query; after a wake-up the socket is drained without blocking (up to
// a batch) so that a burst costs one epoll round. TCP: RFC 7766 framing (2-byte length), queries
// answered in order on a connection, an idle timeout, and at most max_tcp_connections per
// listener (one more is accepted and closed at once, so the backlog never fills with waiters).
//
// Internal to DnsServer: everything runs on its io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "dataplane/dns/dns_forwarder.h"
#include "dataplane/dns/dns_responder.h"
#include "dataplane/dns/udp_batch.h"

namespace shoal::dataplane::dns {

// What every listener of one server shares.
struct ListenerContext {
  DnsResponder& responder;
  DnsForwarder& forwarder;
  size_t max_tcp_connections;
  std::chrono::milliseconds tcp_idle_timeout;
  uint64_t tcp_rejected = 0;
  UdpBatch udp_batch{};  // shared by every listener: they all run on the server's one thread
};

class TcpSession;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& io, ListenerContext& context, std::string label,
           std::vector<std::string> networks);
  ~Listener();

  // Takes a bound UDP socket and a listening TCP socket and starts serving them.
  Status start(UniqueFd udp, UniqueFd tcp);
  // Closes both sockets and every connection; pending forwards then reply to nobody.
  void stop();

  const std::string& label() const { return label_; }
  const std::vector<std::string>& networks() const { return networks_; }
  void set_networks(std::vector<std::string> networks) { networks_ = std::move(networks); }
  size_t tcp_connections() const { return sessions_.size(); }

 private:
  friend class TcpSession;

  void receive_udp();
  void answer_udp(UdpBatch& batch, size_t i);
  void accept_tcp();
  void session_ended(uint64_t session_id) { sessions_.erase(session_id); }

  boost::asio::io_context& io_;
  ListenerContext& context_;
  std::string label_;
  std::vector<std::string> networks_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_pause_;  // after an accept error (EMFILE): no busy loop
  std::map<uint64_t, std::weak_ptr<TcpSession>> sessions_;
  uint64_t next_session_id_ = 0;
};

}  // namespace shoal::dataplane::dns
