#include "common/printable.h"

#include <cstdint>
#include <cstdio>

namespace shoal {
namespace {

constexpr size_t kLogBytes = 256;

std::string hex_byte(unsigned char byte) {
  char text[8];
  std::snprintf(text, sizeof text, "\\x%02x", byte);
  return text;
}

std::string unicode_escape(uint32_t code_point) {
  char text[16];
  std::snprintf(text, sizeof text, "\\u%04x", static_cast<unsigned>(code_point));
  return text;
}

// The length of the well-formed UTF-8 sequence at text[i] (1-4), or 0 if it is not one.
// Overlong forms, surrogates and code points beyond U+10FFFF are not well-formed.
size_t utf8_length(std::string_view text, size_t i, uint32_t& code_point) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  uint32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80, code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800, code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  return code_point < min || code_point > 0x10FFFF || surrogate ? 0 : length;
}

bool invisible_control(uint32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9F) ||      // C1 controls (CSI is 0x9B)
         (code_point >= 0x202A && code_point <= 0x202E) ||  // bidi embeddings and overrides
         (code_point >= 0x2066 && code_point <= 0x2069) ||  // bidi isolates
         code_point == 0x2028 || code_point == 0x2029;      // line and paragraph separators
}

std::string escape_ascii(unsigned char c, bool keep_newlines) {
  switch (c) {
    case '\n':
      return keep_newlines ? "\n" : "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    default:
      return c < 0x20 || c == 0x7F ? hex_byte(c) : std::string(1, static_cast<char>(c));
  }
}

}  // namespace

std::string printable(std::string_view text, PrintableOptions options) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    std::string piece;
    size_t consumed = 1;
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      piece = escape_ascii(c, options.keep_newlines);
    } else if (uint32_t code_point = 0; (consumed = utf8_length(text, i, code_point)) != 0) {
      piece = invisible_control(code_point) ? unicode_escape(code_point)
                                            : std::string(text.substr(i, consumed));
    } else {
      consumed = 1;
      piece = hex_byte(c);
    }
    if (options.max_bytes != 0 && out.size() + piece.size() > options.max_bytes) {
      return out + "...(" + std::to_string(text.size()) + " bytes)";
    }
    out += piece;
    i += consumed;
  }
  return out;
}

std::string printable_for_log(std::string_view text) {
  return printable(text, {.max_bytes = kLogBytes});
}

}  // namespace shoal
