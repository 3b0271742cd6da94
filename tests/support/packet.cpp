#include "tests/support/packet.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#include <algorithm>
#include <cstring>

namespace shoal::testing {
namespace {

constexpr size_t kL3 = ETH_HLEN;
constexpr size_t kL4 = ETH_HLEN + sizeof(iphdr);
constexpr char kPayload[] = "shoal";

uint32_t sum16(const uint8_t* data, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2)
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len % 2)
    sum += static_cast<uint32_t>(data[len - 1] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// The L4 checksum over the pseudo header and the segment (0 when the bytes verify).
uint16_t l4_checksum(const std::vector<uint8_t>& f) {
  const uint8_t* ip = f.data() + kL3;
  const size_t l4_len = f.size() - kL4;
  uint32_t sum = sum16(ip + 12, 8);  // source and destination addresses
  sum += ip[9];                      // protocol
  sum += static_cast<uint32_t>(l4_len);
  return fold(sum16(f.data() + kL4, l4_len, sum));
}

}  // namespace

std::vector<uint8_t> build_frame(const Frame& frame) {
  const bool tcp = frame.proto == IPPROTO_TCP;
  const size_t l4_header = tcp ? sizeof(tcphdr) : sizeof(udphdr);
  std::vector<uint8_t> f(kL4 + l4_header + sizeof(kPayload) - 1, 0);
  auto* eth = reinterpret_cast<ethhdr*>(f.data());
  std::memset(eth->h_dest, 0x02, ETH_ALEN);
  std::memset(eth->h_source, 0x04, ETH_ALEN);
  eth->h_proto = htons(ETH_P_IP);
  auto* ip = reinterpret_cast<iphdr*>(f.data() + kL3);
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = frame.proto;
  ip->tot_len = htons(static_cast<uint16_t>(f.size() - kL3));
  ip->saddr = frame.src.network_order();
  ip->daddr = frame.dst.network_order();
  ip->check = htons(fold(sum16(f.data() + kL3, sizeof(iphdr))));
  std::memcpy(f.data() + kL4 + l4_header, kPayload, sizeof(kPayload) - 1);
  if (tcp) {
    auto* t = reinterpret_cast<tcphdr*>(f.data() + kL4);
    t->source = htons(frame.sport);
    t->dest = htons(frame.dport);
    t->doff = 5;
    t->syn = frame.syn;
    t->ack = !frame.syn;
    t->window = htons(1024);
    t->check = htons(l4_checksum(f));
  } else {
    auto* u = reinterpret_cast<udphdr*>(f.data() + kL4);
    u->source = htons(frame.sport);
    u->dest = htons(frame.dport);
    u->len = htons(static_cast<uint16_t>(f.size() - kL4));
    u->check = htons(l4_checksum(f));
  }
  return f;
}

std::optional<Frame> read_frame(const std::vector<uint8_t>& f) {
  if (f.size() < kL4 + sizeof(udphdr))
    return std::nullopt;
  const auto* ip = reinterpret_cast<const iphdr*>(f.data() + kL3);
  Frame frame;
  frame.src = Ipv4(ntohl(ip->saddr));
  frame.dst = Ipv4(ntohl(ip->daddr));
  frame.proto = ip->protocol;
  const auto* ports = reinterpret_cast<const uint16_t*>(f.data() + kL4);
  frame.sport = ntohs(ports[0]);
  frame.dport = ntohs(ports[1]);
  if (frame.proto == IPPROTO_TCP) {
    frame.syn = reinterpret_cast<const tcphdr*>(f.data() + kL4)->syn;
  }
  frame.checksums_ok = fold(sum16(f.data() + kL3, sizeof(iphdr))) == 0 && l4_checksum(f) == 0;
  return frame;
}

std::vector<uint8_t> forged_vxlan_datagram(uint32_t vni, Ipv4 claimed, Ipv4 task, uint16_t port) {
  std::vector<uint8_t> inner = build_frame({claimed, 40000, task, port, IPPROTO_UDP, true, true});
  const auto dst_mac = Mac::from_ipv4(task).bytes();
  const auto src_mac = Mac::from_ipv4(claimed).bytes();
  std::copy(dst_mac.begin(), dst_mac.end(), inner.begin());
  std::copy(src_mac.begin(), src_mac.end(), inner.begin() + 6);
  std::vector<uint8_t> datagram(8 + inner.size(), 0);
  datagram[0] = 0x08;
  datagram[4] = static_cast<uint8_t>(vni >> 16);
  datagram[5] = static_cast<uint8_t>(vni >> 8);
  datagram[6] = static_cast<uint8_t>(vni);
  std::copy(inner.begin(), inner.end(), datagram.begin() + 8);
  return datagram;
}

}  // namespace shoal::testing
