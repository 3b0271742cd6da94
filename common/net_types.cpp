#include "common/net_types.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

#include "common/hex.h"

namespace shoal {
namespace {

bool parse_uint(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 10) {
    return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

}  // namespace

Result<Ipv4> Ipv4::parse(std::string_view text) {
  uint32_t value = 0;
  std::string_view rest = text;
  for (int i = 0; i < 4; ++i) {
    size_t dot = rest.find('.');
    bool last = i == 3;
    if (last != (dot == std::string_view::npos)) {
      return invalid_argument("IPv4 address '" + std::string(text) + "'", "expected a.b.c.d");
    }
    unsigned octet = 0;
    if (!parse_uint(rest.substr(0, dot), 255, octet)) {
      return invalid_argument("IPv4 address '" + std::string(text) + "'",
                              "each part must be a number from 0 to 255");
    }
    value = (value << 8) | octet;
    rest = last ? std::string_view{} : rest.substr(dot + 1);
  }
  return Ipv4(value);
}

uint32_t Ipv4::network_order() const {
  return htonl(value_);
}

std::array<uint8_t, 4> Ipv4::bytes() const {
  return {static_cast<uint8_t>(value_ >> 24), static_cast<uint8_t>(value_ >> 16),
          static_cast<uint8_t>(value_ >> 8), static_cast<uint8_t>(value_)};
}

std::string Ipv4::str() const {
  auto b = bytes();
  return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
         std::to_string(b[3]);
}

Result<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return invalid_argument("prefix '" + std::string(text) + "'", "expected a.b.c.d/len");
  }
  SHOAL_ASSIGN_OR_RETURN(Ipv4 addr, Ipv4::parse(text.substr(0, slash)));
  unsigned length = 0;
  if (!parse_uint(text.substr(slash + 1), 32, length)) {
    return invalid_argument("prefix '" + std::string(text) + "'",
                            "length must be a number from 0 to 32");
  }
  return Ipv4Prefix(addr, static_cast<int>(length));
}

uint32_t Ipv4Prefix::mask() const {
  return length_ == 0 ? 0 : ~uint32_t{0} << (32 - length_);
}

Ipv4 Ipv4Prefix::network() const {
  return Ipv4(addr_.host_order() & mask());
}

Ipv4 Ipv4Prefix::broadcast() const {
  return Ipv4(addr_.host_order() | ~mask());
}

bool Ipv4Prefix::contains(Ipv4 ip) const {
  return (ip.host_order() & mask()) == network().host_order();
}

bool Ipv4Prefix::overlaps(const Ipv4Prefix& other) const {
  return contains(other.network()) || other.contains(network());
}

bool Ipv4Prefix::is_host_address(Ipv4 ip) const {
  if (!contains(ip)) {
    return false;
  }
  if (length_ >= 31) {
    return true;
  }
  return ip != network() && ip != broadcast();
}

std::string Ipv4Prefix::str() const {
  return addr_.str() + "/" + std::to_string(length_);
}

Result<Mac> Mac::parse(std::string_view text) {
  std::array<uint8_t, 6> bytes{};
  if (text.size() != 17) {
    return invalid_argument("MAC '" + std::string(text) + "'", "expected xx:xx:xx:xx:xx:xx");
  }
  for (size_t i = 0; i < 6; ++i) {
    int hi = hex_digit_value(text[i * 3]);
    int lo = hex_digit_value(text[i * 3 + 1]);
    bool separator_ok = i == 5 || text[i * 3 + 2] == ':';
    if (hi < 0 || lo < 0 || !separator_ok) {
      return invalid_argument("MAC '" + std::string(text) + "'", "expected xx:xx:xx:xx:xx:xx");
    }
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return Mac(bytes);
}

Mac Mac::from_ipv4(Ipv4 ip) {
  auto b = ip.bytes();
  return Mac({0x02, 0x42, b[0], b[1], b[2], b[3]});
}

std::string Mac::str() const {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", bytes_[0], bytes_[1],
                bytes_[2], bytes_[3], bytes_[4], bytes_[5]);
  return text;
}

uint16_t port_of(std::string_view host_port, uint16_t fallback) {
  auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos)
    return fallback;
  auto digits = host_port.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
    return fallback;
  return static_cast<uint16_t>(port);
}

}  // namespace shoal
