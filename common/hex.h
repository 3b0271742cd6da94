#pragma once

// Bytes as lowercase hex and back: for bytes that must travel where only text goes (JSON,
// protobuf strings, command lines).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace shoal {

std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(std::string_view bytes);

// 0-15 for a hex digit (either case), -1 for anything else.
int hex_digit_value(char c);

// nullopt unless every character is a hex digit (either case) and the length is even.
std::optional<std::string> from_hex(std::string_view text);

}  // namespace shoal
