#include "gossip/membership/types.h"

#include <charconv>

namespace shoal::gossip {

Result<NodeAddress> NodeAddress::parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return invalid_argument(std::string(text), "expected IP:PORT");
  }
  SHOAL_ASSIGN_OR_RETURN(Ipv4 ip, Ipv4::parse(text.substr(0, colon)));
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return invalid_argument(std::string(text), "port must be 1-65535");
  }
  return NodeAddress{ip, static_cast<uint16_t>(port)};
}

Result<NodeAddress> NodeAddress::from_wire(ByteView addr, uint16_t port) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (addr.size() == 16 && std::equal(addr.begin(), addr.begin() + 12, kMappedPrefix)) {
    addr = addr.subspan(12);
  }
  if (addr.size() != 4) {
    return invalid_argument("node address", "only IPv4 (4 bytes or v4-mapped) is supported, got " +
                                                std::to_string(addr.size()) + " bytes");
  }
  const uint32_t host = static_cast<uint32_t>(addr[0]) << 24 |
                        static_cast<uint32_t>(addr[1]) << 16 | static_cast<uint32_t>(addr[2]) << 8 |
                        addr[3];
  return NodeAddress{Ipv4(host), port};
}

Bytes NodeAddress::ip_bytes() const {
  auto b = ip.bytes();
  return Bytes(b.begin(), b.end());
}

std::string NodeAddress::str() const {
  return ip.str() + ":" + std::to_string(port);
}

const char* member_state_name(MemberState state) {
  switch (state) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kSuspect:
      return "suspect";
    case MemberState::kDead:
      return "dead";
    case MemberState::kLeft:
      return "left";
  }
  return "unknown";
}

Versions Versions::from_wire(ByteView vsn) {
  auto at = [&](size_t i) -> uint8_t { return i < vsn.size() ? vsn[i] : 0; };
  return Versions{at(0), at(1), at(2), at(3), at(4), at(5)};
}

Config Config::lan(std::string name, NodeAddress advertise) {
  Config c;
  c.name = std::move(name);
  c.advertise = advertise;
  return c;
}

Config Config::local(std::string name, NodeAddress advertise) {
  Config c = lan(std::move(name), advertise);
  c.probe_interval = 1s;
  c.probe_timeout = 200ms;
  c.gossip_interval = 100ms;
  c.gossip_to_the_dead_time = 15s;
  c.push_pull_interval = 15s;
  c.suspicion_mult = 3;
  c.tcp_timeout = 1s;
  return c;
}

}  // namespace shoal::gossip
