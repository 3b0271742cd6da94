// Plain value types for addresses: IPv4 address, IPv4 prefix, Ethernet MAC.
// Parsing returns a Result naming what was wrong with the text.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace shoal {

class Ipv4 {
 public:
  constexpr Ipv4() = default;
  constexpr explicit Ipv4(uint32_t host_order) : value_(host_order) {}

  static Result<Ipv4> parse(std::string_view text);

  constexpr uint32_t host_order() const { return value_; }
  uint32_t network_order() const;
  std::array<uint8_t, 4> bytes() const;
  std::string str() const;

  friend constexpr auto operator<=>(Ipv4, Ipv4) = default;

 private:
  uint32_t value_ = 0;
};

// An address with a prefix length, e.g. 10.0.1.0/24 (a subnet) or 10.0.1.5/24 (an interface
// address). network() clears the host bits.
class Ipv4Prefix {
 public:
  constexpr Ipv4Prefix() = default;
  constexpr Ipv4Prefix(Ipv4 addr, int length) : addr_(addr), length_(length) {}

  static Result<Ipv4Prefix> parse(std::string_view text);

  Ipv4 addr() const { return addr_; }
  int length() const { return length_; }
  uint32_t mask() const;
  Ipv4 network() const;
  Ipv4 broadcast() const;
  bool contains(Ipv4 ip) const;
  bool overlaps(const Ipv4Prefix& other) const;
  // True when ip can be given to a host: inside, and neither the network nor broadcast address
  // (a /31 or /32 has no such reserved addresses).
  bool is_host_address(Ipv4 ip) const;
  std::string str() const;

  friend auto operator<=>(const Ipv4Prefix&, const Ipv4Prefix&) = default;

 private:
  Ipv4 addr_;
  int length_ = 0;
};

class Mac {
 public:
  constexpr Mac() = default;
  constexpr explicit Mac(std::array<uint8_t, 6> bytes) : bytes_(bytes) {}

  static Result<Mac> parse(std::string_view text);
  // 02:42:a.b.c.d, as Docker derives an endpoint's MAC from its IPv4 address: locally
  // administered, unicast, and the same on every node that learns the endpoint.
  static Mac from_ipv4(Ipv4 ip);

  const std::array<uint8_t, 6>& bytes() const { return bytes_; }
  std::string str() const;

  friend constexpr auto operator<=>(const Mac&, const Mac&) = default;

 private:
  std::array<uint8_t, 6> bytes_{};
};

// The port of "HOST:PORT"; `fallback` when there is none or it is not a port (1-65535).
uint16_t port_of(std::string_view host_port, uint16_t fallback);

}  // namespace shoal
