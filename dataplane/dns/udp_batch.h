// UDP datagrams taken and answered in batches: recvmmsg takes up to kSize queued queries in one
// system call and sendmmsg sends their replies in one more. A resolver's time goes mostly into
// system calls (a profile under dnsperf shows the VM's syscall path well above parsing and
// lookup), so one call per batch instead of two per query is what pays.
//
// One batch serves every listener of the server: they all run on its one thread and use the
// batch from receive() to flush() without yielding in between.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <span>
#include <vector>

namespace shoal::dataplane::dns {

class UdpBatch {
 public:
  static constexpr size_t kSize = 32;
  // Larger queries are cut at this size (and then fail to parse): DNS queries over UDP are a few
  // hundred bytes, and EDNS payloads stop at 4096 in practice.
  static constexpr size_t kMaxQuery = 4096;

  UdpBatch();

  // Takes what is queued on fd, without blocking: how many datagrams (0 when none).
  size_t receive(int fd);
  std::span<const uint8_t> datagram(size_t i) const;
  boost::asio::ip::udp::endpoint sender(size_t i) const;

  // Queues a reply to the sender of datagram i, sent by flush().
  void reply(size_t i, std::vector<uint8_t> bytes);
  // Sends the queued replies; what a full send buffer does not take is dropped, as the network
  // could drop it: the client retries, and no task's resolver ever waits on one slow reader.
  void flush(int fd);

 private:
  std::vector<uint8_t> storage_;  // kSize buffers of kMaxQuery bytes
  std::array<sockaddr_storage, kSize> senders_{};
  std::array<iovec, kSize> iov_{};
  std::array<mmsghdr, kSize> messages_{};
  size_t received_ = 0;

  std::vector<std::vector<uint8_t>> replies_;
  std::vector<size_t> reply_to_;
};

}  // namespace shoal::dataplane::dns
