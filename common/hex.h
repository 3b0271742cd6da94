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

// nullopt unless every character is a hex digit (either case) and the length is even.
std::optional<std::string> from_hex(std::string_view text);

}  // namespace shoal
