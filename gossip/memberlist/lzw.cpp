#include "gossip/memberlist/lzw.h"

#include <array>
#include <unordered_map>

namespace shoal::gossip {

namespace {
constexpr uint32_t kClear = 256;
constexpr uint32_t kEof = 257;
constexpr uint32_t kMaxWidth = 12;
constexpr uint32_t kTableSize = 1u << kMaxWidth;
constexpr uint32_t kInvalid = 0xffff;

Error lzw_error(std::string detail) {
  return Error{"decompress", "lzw stream", 0, std::move(detail)};
}
}  // namespace

Result<Bytes> lzw_decompress(ByteView input, size_t max_output) {
  std::array<uint16_t, kTableSize> prefix{};
  std::array<uint8_t, kTableSize> suffix{};
  std::array<uint8_t, kTableSize> scratch{};
  uint32_t width = 9, hi = kEof, overflow = 1u << width, last = kInvalid;
  uint32_t bits = 0, nbits = 0;
  size_t pos = 0;
  Bytes out;
  for (;;) {
    while (nbits < width) {
      if (pos >= input.size()) {
        return lzw_error("stream ends without an EOF code");
      }
      bits |= static_cast<uint32_t>(input[pos++]) << nbits;
      nbits += 8;
    }
    const uint32_t code = bits & ((1u << width) - 1);
    bits >>= width;
    nbits -= width;

    if (code == kClear) {
      width = 9, hi = kEof, overflow = 1u << width, last = kInvalid;
      continue;
    }
    if (code == kEof) {
      return out;
    }
    // Expand `code` into scratch, back to front; `first` is its first byte.
    size_t i = scratch.size();
    uint8_t first = 0;
    if (code < kClear) {
      first = static_cast<uint8_t>(code);
      scratch[--i] = first;
    } else if (code <= hi) {
      uint32_t c = code;
      if (code == hi) {
        // Only valid right after another code: it is last's expansion plus last's first byte.
        if (last == kInvalid) {
          return lzw_error("code " + std::to_string(code) + " refers to an undefined entry");
        }
        c = last;
        while (c >= kClear)
          c = prefix[c];
        scratch[--i] = static_cast<uint8_t>(c);
        c = last;
      }
      while (c >= kClear) {
        if (i == 0) {
          return lzw_error("corrupt prefix chain");
        }
        scratch[--i] = suffix[c];
        c = prefix[c];
      }
      if (i == 0) {
        return lzw_error("corrupt prefix chain");
      }
      first = static_cast<uint8_t>(c);
      scratch[--i] = first;
    } else {
      return lzw_error("invalid code " + std::to_string(code));
    }
    if (out.size() + (scratch.size() - i) > max_output) {
      return lzw_error("output exceeds " + std::to_string(max_output) + " bytes");
    }
    out.insert(out.end(), scratch.begin() + static_cast<std::ptrdiff_t>(i), scratch.end());
    if (last != kInvalid) {
      suffix[hi] = first;
      prefix[hi] = static_cast<uint16_t>(last);
    }
    last = code;
    ++hi;
    if (hi >= overflow) {
      if (width == kMaxWidth) {
        last = kInvalid;  // table full: no new entries until a clear code
        --hi;
      } else {
        ++width;
        overflow = 1u << width;
      }
    }
  }
}

Bytes lzw_compress(ByteView input) {
  Bytes out;
  uint32_t bits = 0, nbits = 0, width = 9, hi = kEof, overflow = 1u << width;
  auto emit = [&](uint32_t code) {
    bits |= code << nbits;
    nbits += width;
    while (nbits >= 8) {
      out.push_back(static_cast<uint8_t>(bits));
      bits >>= 8;
      nbits -= 8;
    }
  };
  std::unordered_map<uint32_t, uint32_t> table;  // (prefix code << 8 | byte) -> code
  // Advances the next free code; returns false when the table filled up and was reset.
  auto next_code = [&]() {
    if (++hi == overflow) {
      ++width;
      overflow <<= 1;
    }
    if (hi == kTableSize - 1) {
      emit(kClear);
      width = 9, hi = kEof, overflow = 1u << width;
      table.clear();
      return false;
    }
    return true;
  };
  emit(kClear);
  uint32_t saved = kInvalid;
  for (uint8_t byte : input) {
    if (saved == kInvalid) {
      saved = byte;
      continue;
    }
    const uint32_t key = saved << 8 | byte;
    if (auto it = table.find(key); it != table.end()) {
      saved = it->second;
      continue;
    }
    emit(saved);
    saved = byte;
    if (next_code()) {
      table[key] = hi;
    }
  }
  if (saved != kInvalid) {
    emit(saved);
    next_code();
  }
  emit(kEof);
  if (nbits > 0) {
    out.push_back(static_cast<uint8_t>(bits));
  }
  return out;
}

}  // namespace shoal::gossip
