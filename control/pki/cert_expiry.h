// The lifetime a swarm's node certificates get (`swarm init/update --cert-expiry`), checked
// where it is asked for: by shoald at init, by the manager at update.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/result.h"

namespace shoal::pki {

// A requested certificate lifetime (`--cert-expiry`, in seconds; 0: the default), checked
// against the floor: 1 hour as Docker, 1 minute when the environment has
// SHOAL_ALLOW_SHORT_CERT_EXPIRY=1 (tests that watch certificates expire).
Result<std::chrono::seconds> checked_cert_expiry(uint64_t seconds);

}  // namespace shoal::pki
