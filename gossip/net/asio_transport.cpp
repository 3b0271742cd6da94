#include "gossip/net/asio_transport.h"

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace shoal::gossip {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

asio::ip::address_v4 to_asio(Ipv4 ip) {
  return asio::ip::address_v4(ip.host_order());
}

NodeAddress from_asio(const asio::ip::address& a, uint16_t port) {
  if (a.is_v4())
    return NodeAddress{Ipv4(a.to_v4().to_uint()), port};
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return NodeAddress{Ipv4(asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_uint()),
                       port};
  }
  return NodeAddress{Ipv4(0), port};
}

Error net_error(std::string op, const NodeAddress& addr, const boost::system::error_code& ec) {
  return sys_error(std::move(op), addr.str(), ec.value(), ec.message());
}

// Parsing a plaintext frame means decoding it, so re-checking after every chunk would cost
// O(n^2) on a large push/pull. Check only when the socket has nothing more buffered right now
// (the peer is probably waiting for us) or another MiB has arrived (to enforce the size cap).
bool worth_checking(const tcp::socket& socket, size_t buffered, size_t& checked_at) {
  boost::system::error_code ec;
  if (socket.available(ec) > 0 && !ec && buffered - checked_at < (1u << 20))
    return false;
  checked_at = buffered;
  return true;
}

// Appends what was read and reports whether a frame is complete, incomplete or invalid.
Result<std::optional<size_t>> frame_in(const Bytes& buffered, const WireSecurity& security,
                                       const StreamLimits& limits) {
  if (buffered.size() > limits.max_frame + 16) {
    return Error{"read stream", "frame", 0, "larger than " + std::to_string(limits.max_frame)};
  }
  return stream_frame_size(buffered, security, limits);
}

}  // namespace

// One accepted connection: read one frame, answer, close.
class AsioTransport::InboundStream : public std::enable_shared_from_this<InboundStream> {
 public:
  InboundStream(AsioTransport& owner, tcp::socket socket)
      : owner_(owner), alive_(owner.alive_), socket_(std::move(socket)), timer_(owner.io_) {}

  void start() {
    ++owner_.inbound_streams_;
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    from_ = from_asio(remote.address(), remote.port());
    timer_.expires_after(owner_.limits_.inbound_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e)
        self->socket_.close();
    });
    read();
  }

  ~InboundStream() {
    if (alive_.lock())
      --owner_.inbound_streams_;
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t n) { self->on_read(ec, n); });
  }

  void on_read(const boost::system::error_code& ec, size_t n) {
    if (ec || !alive_.lock())
      return;  // closed, timed out or transport gone
    buffered_.insert(buffered_.end(), chunk_.begin(), chunk_.begin() + static_cast<long>(n));
    if (!worth_checking(socket_, buffered_.size(), checked_at_)) {
      read();
      return;
    }
    auto size = frame_in(buffered_, owner_.security_, owner_.limits_.stream);
    if (!size.ok()) {
      spdlog::debug("gossip: bad stream from {}: {}", from_.str(), size.error().message());
      socket_.close();
      return;
    }
    if (!size->has_value()) {
      read();
      return;
    }
    std::optional<Bytes> reply;
    if (owner_.handler_) {
      reply = owner_.handler_->on_stream(from_, ByteView(buffered_).first(**size));
    }
    if (!reply) {
      timer_.cancel();
      return;  // socket closes with this object
    }
    reply_ = std::move(*reply);
    asio::async_write(socket_, asio::buffer(reply_),
                      [self = shared_from_this()](const boost::system::error_code&, size_t) {
                        self->timer_.cancel();
                      });
  }

  AsioTransport& owner_;
  std::weak_ptr<bool> alive_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  NodeAddress from_;
  std::array<uint8_t, 16384> chunk_{};
  Bytes buffered_;
  size_t checked_at_ = 0;
  Bytes reply_;
};

// One dialled connection: connect, write the request, optionally read one reply frame.
class AsioTransport::OutboundStream : public std::enable_shared_from_this<OutboundStream> {
 public:
  OutboundStream(AsioTransport& owner, NodeAddress to, Bytes request, bool expect_reply,
                 StreamDone done)
      : owner_(owner),
        alive_(owner.alive_),
        to_(to),
        request_(std::move(request)),
        expect_reply_(expect_reply),
        done_(std::move(done)),
        socket_(owner.io_),
        timer_(owner.io_) {}

  void start(Duration timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec)
        return;
      self->finish(Error{"stream", self->to_.str(), ETIMEDOUT, "i/o timeout"});
      self->socket_.close();
    });
    socket_.async_connect(tcp::endpoint(to_asio(to_.ip), to_.port),
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (ec)
                              return self->finish(net_error("connect", self->to_, ec));
                            self->write();
                          });
  }

 private:
  void write() {
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (ec)
                          return self->finish(net_error("write", self->to_, ec));
                        if (!self->expect_reply_)
                          return self->finish(Bytes{});
                        self->read();
                      });
  }

  void read() {
    socket_.async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          if (ec)
            return self->finish(net_error("read reply", self->to_, ec));
          if (!self->alive_.lock())
            return;
          self->buffered_.insert(self->buffered_.end(), self->chunk_.begin(),
                                 self->chunk_.begin() + static_cast<long>(n));
          if (!worth_checking(self->socket_, self->buffered_.size(), self->checked_at_)) {
            return self->read();
          }
          auto size =
              frame_in(self->buffered_, self->owner_.security_, self->owner_.limits_.stream);
          if (!size.ok())
            return self->finish(std::move(size).error());
          if (!size->has_value())
            return self->read();
          self->buffered_.resize(**size);
          self->finish(std::move(self->buffered_));
        });
  }

  void finish(Result<Bytes> result) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (alive_.lock())
      done_(std::move(result));
  }

  AsioTransport& owner_;
  std::weak_ptr<bool> alive_;
  NodeAddress to_;
  Bytes request_;
  bool expect_reply_;
  StreamDone done_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<uint8_t, 16384> chunk_{};
  Bytes buffered_;
  size_t checked_at_ = 0;
  bool finished_ = false;
};

AsioTransport::AsioTransport(asio::io_context& io, const WireSecurity& security,
                             TransportLimits limits)
    : io_(io), security_(security), limits_(limits), udp_(io), acceptor_(io) {}

AsioTransport::~AsioTransport() {
  close();
}

Result<std::unique_ptr<AsioTransport>> AsioTransport::bind(asio::io_context& io,
                                                           const NodeAddress& bind,
                                                           const WireSecurity& security,
                                                           TransportLimits limits) {
  std::unique_ptr<AsioTransport> t(new AsioTransport(io, security, limits));
  boost::system::error_code ec;
  const udp::endpoint udp_ep(to_asio(bind.ip), bind.port);
  if (t->udp_.open(udp::v4(), ec); ec)
    return net_error("open udp socket", bind, ec);
  if (t->udp_.bind(udp_ep, ec); ec)
    return net_error("bind udp", bind, ec);
  const tcp::endpoint tcp_ep(to_asio(bind.ip), bind.port);
  if (t->acceptor_.open(tcp::v4(), ec); ec)
    return net_error("open tcp socket", bind, ec);
  t->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (t->acceptor_.bind(tcp_ep, ec); ec)
    return net_error("bind tcp", bind, ec);
  if (t->acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return net_error("listen", bind, ec);
  }
  return t;
}

void AsioTransport::set_handler(TransportHandler* handler) {
  const bool first = handler_ == nullptr && handler != nullptr;
  handler_ = handler;
  if (first) {
    receive_packet();
    accept_stream();
  }
}

void AsioTransport::close() {
  handler_ = nullptr;
  alive_.reset();
  boost::system::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
}

void AsioTransport::receive_packet() {
  udp_.async_receive_from(
      asio::buffer(packet_buffer_), packet_from_,
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec, size_t n) {
        if (!alive.lock())
          return;
        if (ec == asio::error::operation_aborted)
          return;
        if (!ec && handler_) {
          ++packets_received_;
          handler_->on_packet(from_asio(packet_from_.address(), packet_from_.port()),
                              ByteView(packet_buffer_.data(), n));
        }
        if (handler_)
          receive_packet();
      });
}

void AsioTransport::accept_stream() {
  acceptor_.async_accept([this, alive = std::weak_ptr<bool>(alive_)](
                             const boost::system::error_code& ec, tcp::socket socket) {
    if (!alive.lock() || ec == asio::error::operation_aborted)
      return;
    if (!ec) {
      if (inbound_streams_ >= limits_.max_inbound_streams) {
        spdlog::warn("gossip: too many inbound streams, dropping a connection");
      } else {
        std::make_shared<InboundStream>(*this, std::move(socket))->start();
      }
    }
    if (handler_)
      accept_stream();
  });
}

void AsioTransport::send_packet(const NodeAddress& to, Bytes packet) {
  auto buffer = std::make_shared<Bytes>(std::move(packet));
  ++packets_sent_;
  udp_.async_send_to(asio::buffer(*buffer), udp::endpoint(to_asio(to.ip), to.port),
                     [buffer](const boost::system::error_code&, size_t) {});
}

void AsioTransport::send_stream(const NodeAddress& to, Bytes request, bool expect_reply,
                                Duration timeout, StreamDone done) {
  std::make_shared<OutboundStream>(*this, to, std::move(request), expect_reply, std::move(done))
      ->start(timeout);
}

}  // namespace shoal::gossip
