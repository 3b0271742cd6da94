#include "dataplane/dns/dns_forwarder.h"

#include <algorithm>

namespace shoal::dataplane::dns {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr size_t kMaxPendingCeiling = 16384;

udp::endpoint to_endpoint(const UpstreamServer& server) {
  return udp::endpoint(asio::ip::address_v4(server.ip.host_order()), server.port);
}

}  // namespace

struct DnsForwarder::Pending {
  Pending(asio::io_context& io, DecodedQuery q, ReplyHandler r, uint64_t s)
      : query(std::move(q)), reply(std::move(r)), serial(s), timer(io) {}
  DecodedQuery query;
  ReplyHandler reply;
  uint64_t serial;     // tells a stale timer from the one of a later query with the same ID
  size_t attempt = 0;  // index of the upstream asked last
  asio::steady_timer timer;
};

DnsForwarder::DnsForwarder(asio::io_context& io, ForwarderConfig config)
    : io_(io),
      socket_(io),
      config_(std::move(config)),
      random_(std::random_device{}()),
      buffer_(kTcpLimit) {
  config_.max_pending = std::min(config_.max_pending, kMaxPendingCeiling);
}

DnsForwarder::~DnsForwarder() = default;

Result<std::unique_ptr<DnsForwarder>> DnsForwarder::create(asio::io_context& io,
                                                           ForwarderConfig config,
                                                           UniqueFd socket) {
  std::unique_ptr<DnsForwarder> forwarder(new DnsForwarder(io, std::move(config)));
  boost::system::error_code ec;
  forwarder->socket_.assign(udp::v4(), socket.get(), ec);
  if (ec)
    return sys_error("adopt forwarder socket", "udp", ec.value(), ec.message());
  socket.release();
  forwarder->receive();
  return forwarder;
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
  std::uniform_int_distribution<uint32_t> any_id(0, 0xffff);
  uint16_t id = 0;
  do {
    id = static_cast<uint16_t>(any_id(random_));
  } while (pending_.count(id) != 0);
  pending_.emplace(
      id, std::make_unique<Pending>(io_, std::move(query), std::move(reply), ++next_serial_));
  send_attempt(id);
}

void DnsForwarder::send_attempt(uint16_t id) {
  Pending& pending = *pending_.at(id);
  const std::vector<uint8_t> wire = upstream_query(pending.query, id);
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(wire), to_endpoint(config_.upstreams[pending.attempt]), 0, ec);
  if (!ec)
    ++stats_.sent;
  // A send error (no route) counts as no answer from this upstream: wait, then try the next, so
  // that a flapping route does not turn into a burst of SERVFAILs.
  pending.timer.expires_after(config_.attempt_timeout);
  pending.timer.async_wait([this, id, serial = pending.serial](boost::system::error_code e) {
    auto it = pending_.find(id);
    if (e || it == pending_.end() || it->second->serial != serial)
      return;
    if (++it->second->attempt < config_.upstreams.size()) {
      send_attempt(id);
    } else {
      fail(id);
    }
  });
}

void DnsForwarder::finish(uint16_t id, std::vector<uint8_t> reply) {
  auto it = pending_.find(id);
  std::unique_ptr<Pending> done = std::move(it->second);
  pending_.erase(it);
  done->timer.cancel();
  done->reply(std::move(reply));
}

void DnsForwarder::fail(uint16_t id) {
  ++stats_.servfail;
  std::vector<uint8_t> servfail = error_reply(pending_.at(id)->query, LDNS_RCODE_SERVFAIL);
  finish(id, std::move(servfail));
}

void DnsForwarder::receive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_,
                             [this](boost::system::error_code ec, size_t size) {
                               if (ec == asio::error::operation_aborted)
                                 return;
                               if (!ec)
                                 on_datagram(size);
                               receive();
                             });
}

void DnsForwarder::on_datagram(size_t size) {
  const std::span<const uint8_t> wire(buffer_.data(), size);
  auto reply = [&]() -> std::optional<std::pair<uint16_t, std::vector<uint8_t>>> {
    if (size < LDNS_HEADER_SIZE)
      return std::nullopt;
    // Only the ID to find the query; relay_reply has ldns check the whole packet.
    const uint16_t id = LDNS_ID_WIRE(wire.data());
    auto it = pending_.find(id);
    if (it == pending_.end())
      return std::nullopt;
    const Pending& pending = *it->second;
    const bool asked =
        std::any_of(config_.upstreams.begin(), config_.upstreams.begin() + pending.attempt + 1,
                    [&](const UpstreamServer& s) { return to_endpoint(s) == sender_; });
    if (!asked)
      return std::nullopt;
    auto relayed = relay_reply(wire, pending.query);
    if (!relayed.ok())
      return std::nullopt;
    return std::make_pair(id, std::move(*relayed));
  }();
  if (!reply) {
    ++stats_.stray_replies;
    return;
  }
  ++stats_.answered;
  finish(reply->first, std::move(reply->second));
}

}  // namespace shoal::dataplane::dns
