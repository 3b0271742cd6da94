#include "dataplane/dns/dns_listener.h"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace shoal::dataplane::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
// Batches of datagrams answered per wake-up before yielding to the other sockets.
constexpr int kUdpRounds = 2;
}  // namespace

// One TCP connection: read a framed query, answer it (or wait for the forward), write the framed
// reply, read the next. Holds itself alive through the handlers it has in flight.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(std::shared_ptr<Listener> listener, uint64_t id, tcp::socket socket)
      : listener_(listener),
        context_(listener->context_),
        networks_(listener->networks_),
        id_(id),
        socket_(std::move(socket)),
        idle_(listener->io_) {}

  ~TcpSession() {
    if (auto listener = listener_.lock())
      listener->session_ended(id_);
  }

  void start() { read_length(); }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    idle_.cancel();
  }

 private:
  void read_length() {
    idle_.expires_after(context_.tcp_idle_timeout);
    idle_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec)
        self->close();
    });
    asio::async_read(socket_, asio::buffer(length_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec)
                         return self->close();
                       const uint16_t size = ldns_read_uint16(self->length_.data());
                       if (size < LDNS_HEADER_SIZE)
                         return self->close();
                       self->query_.resize(size);
                       self->read_query();
                     });
  }

  void read_query() {
    asio::async_read(socket_, asio::buffer(query_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec)
                         return self->close();
                       self->answer();
                     });
  }

  void answer() {
    if (auto listener = listener_.lock())
      networks_ = listener->networks();  // a task may have joined a network since the accept
    DnsDecision decision = context_.responder.respond(query_, networks_, Transport::kTcp);
    switch (decision.kind) {
      case DnsDecision::Kind::kReply:
        return write(std::move(decision.reply));
      case DnsDecision::Kind::kForward:
        return context_.forwarder.forward(std::move(*decision.forward),
                                          [self = shared_from_this()](std::vector<uint8_t> reply) {
                                            self->write(std::move(reply));
                                          });
      case DnsDecision::Kind::kDrop:
        return close();  // garbage on a stream: the framing can no longer be trusted
    }
  }

  void write(std::vector<uint8_t> reply) {
    if (reply.empty() || reply.size() > kTcpLimit || !socket_.is_open())
      return close();
    framed_.resize(2 + reply.size());
    ldns_write_uint16(framed_.data(), static_cast<uint16_t>(reply.size()));
    std::copy(reply.begin(), reply.end(), framed_.begin() + 2);
    asio::async_write(socket_, asio::buffer(framed_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec)
                          return self->close();
                        self->read_length();
                      });
  }

  std::weak_ptr<Listener> listener_;
  ListenerContext& context_;
  std::vector<std::string> networks_;
  uint64_t id_;
  tcp::socket socket_;
  asio::steady_timer idle_;
  std::array<uint8_t, 2> length_{};
  std::vector<uint8_t> query_;
  std::vector<uint8_t> framed_;
};

Listener::Listener(asio::io_context& io, ListenerContext& context, std::string label,
                   std::vector<std::string> networks)
    : io_(io),
      context_(context),
      label_(std::move(label)),
      networks_(std::move(networks)),
      udp_(io),
      acceptor_(io),
      accept_pause_(io) {}

Listener::~Listener() = default;

Status Listener::start(UniqueFd udp, UniqueFd tcp) {
  boost::system::error_code ec;
  udp_.assign(udp::v4(), udp.get(), ec);
  if (ec)
    return sys_error("adopt udp socket", label_, ec.value(), ec.message());
  udp.release();
  udp_.non_blocking(true, ec);
  acceptor_.assign(tcp::v4(), tcp.get(), ec);
  if (ec)
    return sys_error("adopt tcp listener", label_, ec.value(), ec.message());
  tcp.release();
  receive_udp();
  accept_tcp();
  return {};
}

void Listener::stop() {
  boost::system::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
  accept_pause_.cancel();
  for (auto& [id, weak] : sessions_) {
    if (auto session = weak.lock())
      session->close();
  }
}

void Listener::receive_udp() {
  udp_.async_wait(udp::socket::wait_read,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    if (ec) {
                      return;  // closed
                    }
                    UdpBatch& batch = self->context_.udp_batch;
                    for (int round = 0; round < kUdpRounds && self->udp_.is_open(); ++round) {
                      const size_t received = batch.receive(self->udp_.native_handle());
                      for (size_t i = 0; i < received; ++i) {
                        self->answer_udp(batch, i);
                      }
                      batch.flush(self->udp_.native_handle());
                      if (received < UdpBatch::kSize) {
                        break;  // the queue is empty
                      }
                    }
                    self->receive_udp();
                  });
}

void Listener::answer_udp(UdpBatch& batch, size_t i) {
  DnsDecision decision = context_.responder.respond(batch.datagram(i), networks_, Transport::kUdp);
  switch (decision.kind) {
    case DnsDecision::Kind::kReply:
      batch.reply(i, std::move(decision.reply));
      return;
    case DnsDecision::Kind::kForward:
      context_.forwarder.forward(
          std::move(*decision.forward),
          [weak = weak_from_this(), to = batch.sender(i)](std::vector<uint8_t> reply) {
            auto self = weak.lock();
            if (!self || !self->udp_.is_open())
              return;
            boost::system::error_code send_ignored;
            self->udp_.send_to(asio::buffer(reply), to, 0, send_ignored);
          });
      return;
    case DnsDecision::Kind::kDrop:
      return;
  }
}

void Listener::accept_tcp() {
  acceptor_.async_accept(
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open())
          return;
        if (ec) {
          // Out of descriptors or memory: try again a little later rather than spin.
          self->accept_pause_.expires_after(std::chrono::milliseconds(100));
          self->accept_pause_.async_wait([self](boost::system::error_code wait_ec) {
            if (!wait_ec)
              self->accept_tcp();
          });
          return;
        }
        if (self->sessions_.size() >= self->context_.max_tcp_connections) {
          ++self->context_.tcp_rejected;
          boost::system::error_code ignored;
          socket.close(ignored);  // at once: a waiter in the backlog would only time out later
        } else {
          const uint64_t id = ++self->next_session_id_;
          auto session = std::make_shared<TcpSession>(self, id, std::move(socket));
          self->sessions_.emplace(id, session);
          session->start();
        }
        self->accept_tcp();
      });
}

}  // namespace shoal::dataplane::dns
