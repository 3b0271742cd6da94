// The real Transport: UDP for packets and TCP for streams, both on one port, as memberlist does
// (PROTOCOLS.md §A1). Inbound TCP connections carry one request each; the transport reads until
// stream_frame_size() says a frame is complete (bounded in size and time), hands it to the
// handler and writes the reply, if any, before closing. Everything runs on one io_context thread.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "gossip/memberlist/stream.h"
#include "gossip/membership/interfaces.h"

namespace shoal::gossip {

struct TransportLimits {
  size_t max_inbound_streams = 128;  // memberlist limits concurrent push/pulls to 128 as well
  Duration inbound_timeout = std::chrono::seconds(10);
  StreamLimits stream;
};

class AsioTransport : public Transport {
 public:
  // Binds UDP and TCP on `bind`; fails (e.g. "Address already in use") if either is taken.
  static Result<std::unique_ptr<AsioTransport>> bind(boost::asio::io_context& io,
                                                     const NodeAddress& bind,
                                                     const WireSecurity& security,
                                                     TransportLimits limits = {});
  ~AsioTransport() override;

  // Starts reading; the handler must outlive the transport or call set_handler(nullptr).
  void set_handler(TransportHandler* handler);
  void close();

  void send_packet(const NodeAddress& to, Bytes packet) override;
  void send_stream(const NodeAddress& to, Bytes request, bool expect_reply, Duration timeout,
                   StreamDone done) override;

  uint64_t packets_received() const { return packets_received_; }
  uint64_t packets_sent() const { return packets_sent_; }

 private:
  AsioTransport(boost::asio::io_context& io, const WireSecurity& security, TransportLimits limits);
  void receive_packet();
  void accept_stream();

  class InboundStream;
  class OutboundStream;

  boost::asio::io_context& io_;
  WireSecurity security_;
  TransportLimits limits_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  TransportHandler* handler_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::array<uint8_t, 65536> packet_buffer_{};
  boost::asio::ip::udp::endpoint packet_from_;
  size_t inbound_streams_ = 0;
  uint64_t packets_received_ = 0, packets_sent_ = 0;
};

}  // namespace shoal::gossip
