#include "dataplane/dns/dns_forwarder.h"

#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/unique_fd.h"

namespace shoal::dataplane::dns {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr size_t kMaxPendingCeiling = 1024;

udp::endpoint to_endpoint(const UpstreamServer& server) {
  return udp::endpoint(asio::ip::address_v4(server.ip.host_order()), server.port);
}

// From the kernel's CSPRNG: a query ID an off-path forger cannot predict from earlier ones.
Result<uint16_t> random_id() {
  uint16_t id = 0;
  ssize_t n = 0;
  do {
    n = ::getrandom(&id, sizeof id, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof id))
    return sys_error("getrandom", "dns query id", n < 0 ? errno : EIO);
  return id;
}

// A socket of its own for one attempt, connected to the upstream: the kernel binds it to a
// random ephemeral port and delivers it nothing but that upstream's datagrams.
Result<UniqueFd> connected_socket(const UpstreamServer& upstream) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return sys_error("open socket", "dns forward to " + upstream.str(), errno);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = upstream.ip.network_order();
  to.sin_port = htons(upstream.port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0)
    return sys_error("connect", "dns forward to " + upstream.str(), errno);
  return fd;
}

}  // namespace

struct DnsForwarder::Pending {
  Pending(asio::io_context& io, DecodedQuery q, ReplyHandler r)
      : query(std::move(q)), reply(std::move(r)), timer(io), socket(io) {}
  DecodedQuery query;
  ReplyHandler reply;
  size_t attempt = 0;  // index of the upstream asked last
  uint16_t id = 0;     // the ID of the attempt in flight
  asio::steady_timer timer;
  udp::socket socket;  // the attempt's; closed and opened anew for the next one
};

DnsForwarder::DnsForwarder(asio::io_context& io, ForwarderConfig config)
    : io_(io), config_(std::move(config)), buffer_(kTcpLimit) {
  config_.max_pending = std::min(config_.max_pending, kMaxPendingCeiling);
}

DnsForwarder::~DnsForwarder() = default;

Result<std::unique_ptr<DnsForwarder>> DnsForwarder::create(asio::io_context& io,
                                                           ForwarderConfig config) {
  return std::unique_ptr<DnsForwarder>(new DnsForwarder(io, std::move(config)));
}

void DnsForwarder::forward(DecodedQuery query, ReplyHandler reply) {
  if (config_.upstreams.empty() || pending_.size() >= config_.max_pending) {
    if (!config_.upstreams.empty())
      ++stats_.over_cap;
    ++stats_.servfail;
    // Posted, not called: the caller may still be inside its own read handler.
    asio::post(io_, [reply = std::move(reply), bytes = error_reply(query, LDNS_RCODE_SERVFAIL)] {
      reply(bytes);
    });
    return;
  }
  const uint64_t serial = ++next_serial_;
  pending_.emplace(serial, std::make_unique<Pending>(io_, std::move(query), std::move(reply)));
  send_attempt(serial);
}

Status DnsForwarder::open_attempt_socket(Pending& pending) {
  boost::system::error_code ec;
  pending.socket.close(ec);  // the previous attempt's: its late answers are not taken any more
  SHOAL_ASSIGN_OR_RETURN(pending.id, random_id());
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, connected_socket(config_.upstreams[pending.attempt]));
  pending.socket.assign(udp::v4(), fd.get(), ec);
  if (ec)
    return sys_error("adopt socket", "dns forward", ec.value(), ec.message());
  fd.release();
  // Asio's own flag: without it a synchronous receive on an empty socket waits for data
  // instead of saying would_block, and would hold the whole server thread.
  pending.socket.non_blocking(true, ec);
  if (ec)
    return sys_error("set non-blocking", "dns forward", ec.value(), ec.message());
  return {};
}

void DnsForwarder::send_attempt(uint64_t serial) {
  Pending& pending = *pending_.at(serial);
  // A socket or send error (no route, no descriptors) counts as no answer from this upstream:
  // wait, then try the next, so that a flapping route does not turn into a burst of SERVFAILs.
  if (open_attempt_socket(pending).ok()) {
    const std::vector<uint8_t> wire = upstream_query(pending.query, pending.id);
    boost::system::error_code ec;
    pending.socket.send(asio::buffer(wire), 0, ec);
    if (!ec) {
      ++stats_.sent;
      await_reply(serial);
    }
  } else {
    ++stats_.socket_errors;
  }
  pending.timer.expires_after(config_.attempt_timeout);
  pending.timer.async_wait([this, serial, attempt = pending.attempt](boost::system::error_code e) {
    auto it = pending_.find(serial);
    if (e || it == pending_.end() || it->second->attempt != attempt)
      return;
    if (++it->second->attempt < config_.upstreams.size()) {
      send_attempt(serial);
    } else {
      fail(serial);
    }
  });
}

void DnsForwarder::await_reply(uint64_t serial) {
  Pending& pending = *pending_.at(serial);
  pending.socket.async_wait(udp::socket::wait_read,
                            [this, serial, attempt = pending.attempt](boost::system::error_code e) {
                              if (e != asio::error::operation_aborted)
                                on_readable(serial, attempt);
                            });
}

void DnsForwarder::on_readable(uint64_t serial, size_t attempt) {
  auto it = pending_.find(serial);
  if (it == pending_.end() || it->second->attempt != attempt)
    return;
  udp::socket& socket = it->second->socket;
  // Everything queued: forged datagrams must not hide the real answer behind them.
  for (;;) {
    boost::system::error_code ec;
    udp::endpoint sender;
    const size_t size = socket.receive_from(asio::buffer(buffer_), sender, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again)
      break;
    if (ec)
      continue;  // an ICMP error (port unreachable) reported on the connected socket
    if (take_datagram(serial, size, sender))
      return;  // finished: the Pending is gone
  }
  await_reply(serial);
}

bool DnsForwarder::take_datagram(uint64_t serial, size_t size, const udp::endpoint& sender) {
  const Pending& pending = *pending_.at(serial);
  const std::span<const uint8_t> wire(buffer_.data(), size);
  // The kernel already filters by source on the connected socket; checked again here so that a
  // change to how sockets are opened cannot silently lose the check.
  const bool expected = size >= LDNS_HEADER_SIZE &&
                        sender == to_endpoint(config_.upstreams[pending.attempt]) &&
                        LDNS_ID_WIRE(wire.data()) == pending.id;
  if (!expected) {
    ++stats_.stray_replies;
    return false;
  }
  auto relayed = relay_reply(wire, pending.query);
  if (!relayed.ok()) {  // not an answer to this question
    ++stats_.stray_replies;
    return false;
  }
  ++stats_.answered;
  finish(serial, std::move(*relayed));
  return true;
}

void DnsForwarder::finish(uint64_t serial, std::vector<uint8_t> reply) {
  auto it = pending_.find(serial);
  std::unique_ptr<Pending> done = std::move(it->second);
  pending_.erase(it);
  done->timer.cancel();
  boost::system::error_code ec;
  done->socket.close(ec);
  done->reply(std::move(reply));
}

void DnsForwarder::fail(uint64_t serial) {
  ++stats_.servfail;
  std::vector<uint8_t> servfail = error_reply(pending_.at(serial)->query, LDNS_RCODE_SERVFAIL);
  finish(serial, std::move(servfail));
}

}  // namespace shoal::dataplane::dns
