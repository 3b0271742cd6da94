// Helpers for writing golden bytes in tests: hex text and go-msgpack fixraw strings.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "gossip/memberlist/bytes.h"

namespace shoal::gossip::testing {

// "00 85 a5" -> {0x00, 0x85, 0xa5}; spaces are ignored.
inline Bytes hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)))
      continue;
    const int v =
        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

// A fixraw string (< 32 bytes) as go-msgpack v0.5.3 writes it: a0|len then the bytes.
inline Bytes fixraw(std::string_view s) {
  const uint8_t header = static_cast<uint8_t>(0xa0 | s.size());
  return concat(ByteView(&header, 1), as_bytes(s));
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline std::string to_hex(ByteView b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t x : b) {
    if (!out.empty())
      out += ' ';
    out += digits[x >> 4];
    out += digits[x & 15];
  }
  return out;
}

}  // namespace shoal::gossip::testing
