#include "control/pki/cert_expiry.h"

#include <cstdlib>
#include <string>
#include <string_view>

#include "control/pki/ca.h"

namespace shoal::pki {

Result<std::chrono::seconds> checked_cert_expiry(uint64_t seconds) {
  if (seconds == 0)
    return std::chrono::seconds(kDefaultNodeCertValidity);
  const char* allow = std::getenv("SHOAL_ALLOW_SHORT_CERT_EXPIRY");
  const bool short_allowed = allow != nullptr && std::string_view(allow) == "1";
  const std::chrono::seconds floor = short_allowed ? std::chrono::seconds(kTestMinNodeCertValidity)
                                                   : std::chrono::seconds(kMinNodeCertValidity);
  constexpr uint64_t kCeiling = 100ULL * 365 * 24 * 3600;  // what the CA signs at most
  if (seconds < static_cast<uint64_t>(floor.count()) || seconds > kCeiling) {
    return invalid_argument("certificate expiry " + std::to_string(seconds) + "s",
                            "must be between " + std::to_string(floor.count()) + "s and 100 years");
  }
  return std::chrono::seconds(static_cast<int64_t>(seconds));
}

}  // namespace shoal::pki
