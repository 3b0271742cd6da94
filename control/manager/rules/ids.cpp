#include "control/manager/rules/ids.h"

#include <memory>
#include <random>

namespace shoal::manager {

namespace {
constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
}

IdGenerator::IdGenerator() {
  auto device = std::make_shared<std::random_device>();
  source_ = [device] {
    return (static_cast<uint64_t>((*device)()) << 32) | static_cast<uint64_t>((*device)());
  };
}

std::string IdGenerator::next() {
  // 128 bits as two 64-bit halves; 36^25 > 2^128, so 25 digits always hold the number, and the
  // leading digits are padded with zeros to keep the length fixed.
  uint64_t high = source_();
  uint64_t low = source_();
  std::string id(kIdLength, '0');
  for (size_t i = kIdLength; i-- > 0;) {
    // Long division of the 128-bit value (high:low) by 36, 32 bits at a time.
    uint64_t remainder = 0;
    uint64_t parts[4] = {high >> 32, high & 0xffffffffu, low >> 32, low & 0xffffffffu};
    for (auto& part : parts) {
      uint64_t current = (remainder << 32) | part;
      part = current / 36;
      remainder = current % 36;
    }
    high = (parts[0] << 32) | parts[1];
    low = (parts[2] << 32) | parts[3];
    id[i] = kDigits[remainder];
  }
  return id;
}

bool is_valid_id(std::string_view id) {
  return id.size() == kIdLength && id.find_first_not_of(kDigits) == std::string_view::npos;
}

}  // namespace shoal::manager
