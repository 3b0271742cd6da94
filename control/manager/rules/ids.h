// Object IDs as Docker makes them: 25 characters of base36 (0-9, a-z) from 128 random bits.
//
// The random source is injected so tests get predictable IDs; the default reads the OS's
// cryptographic source (std::random_device), since node IDs end up in certificates.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace shoal::manager {

class IdGenerator {
 public:
  using RandomSource = std::function<uint64_t()>;  // 64 uniformly random bits per call

  IdGenerator();  // std::random_device
  explicit IdGenerator(RandomSource source) : source_(std::move(source)) {}

  std::string next();

 private:
  RandomSource source_;
};

inline constexpr size_t kIdLength = 25;
bool is_valid_id(std::string_view id);

}  // namespace shoal::manager
