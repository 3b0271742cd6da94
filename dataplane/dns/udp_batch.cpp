#include "dataplane/dns/udp_batch.h"

#include <cerrno>
#include <cstring>

namespace shoal::dataplane::dns {

UdpBatch::UdpBatch() : storage_(kSize * kMaxQuery) {
  replies_.reserve(kSize);
  reply_to_.reserve(kSize);
}

size_t UdpBatch::receive(int fd) {
  for (size_t i = 0; i < kSize; ++i) {
    iov_[i] = iovec{storage_.data() + i * kMaxQuery, kMaxQuery};
    messages_[i] = mmsghdr{};
    messages_[i].msg_hdr.msg_name = &senders_[i];
    messages_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    messages_[i].msg_hdr.msg_iov = &iov_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
  int got;
  do {
    got = ::recvmmsg(fd, messages_.data(), kSize, MSG_DONTWAIT, nullptr);
  } while (got < 0 && errno == EINTR);
  received_ = got > 0 ? static_cast<size_t>(got) : 0;
  return received_;
}

std::span<const uint8_t> UdpBatch::datagram(size_t i) const {
  return {storage_.data() + i * kMaxQuery, messages_[i].msg_len};
}

boost::asio::ip::udp::endpoint UdpBatch::sender(size_t i) const {
  boost::asio::ip::udp::endpoint endpoint;
  const socklen_t length = messages_[i].msg_hdr.msg_namelen;
  std::memcpy(endpoint.data(), &senders_[i], std::min<size_t>(length, endpoint.capacity()));
  endpoint.resize(std::min<size_t>(length, endpoint.capacity()));
  return endpoint;
}

void UdpBatch::reply(size_t i, std::vector<uint8_t> bytes) {
  replies_.push_back(std::move(bytes));
  reply_to_.push_back(i);
}

void UdpBatch::flush(int fd) {
  std::array<mmsghdr, kSize> out{};
  std::array<iovec, kSize> out_iov{};
  const size_t count = replies_.size();
  for (size_t r = 0; r < count; ++r) {
    out_iov[r] = iovec{replies_[r].data(), replies_[r].size()};
    out[r].msg_hdr.msg_name = &senders_[reply_to_[r]];
    out[r].msg_hdr.msg_namelen = messages_[reply_to_[r]].msg_hdr.msg_namelen;
    out[r].msg_hdr.msg_iov = &out_iov[r];
    out[r].msg_hdr.msg_iovlen = 1;
  }
  for (size_t sent = 0; sent < count;) {
    const int n =
        ::sendmmsg(fd, out.data() + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;  // full send buffer: the rest is dropped, the clients retry
    sent += static_cast<size_t>(n);
  }
  replies_.clear();
  reply_to_.clear();
}

}  // namespace shoal::dataplane::dns
