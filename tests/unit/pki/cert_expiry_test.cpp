// `--cert-expiry` as shoald and the manager check it (control/pki/cert_expiry.h).
#include "control/pki/cert_expiry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace shoal::pki {
namespace {

using namespace std::chrono_literals;

TEST(CertExpiryFlag, DefaultFloorAndTestFloor) {
  ::unsetenv("SHOAL_ALLOW_SHORT_CERT_EXPIRY");
  EXPECT_EQ(*checked_cert_expiry(0), std::chrono::seconds(std::chrono::hours(2160)));
  EXPECT_EQ(*checked_cert_expiry(3600), 3600s);
  auto too_short = checked_cert_expiry(60);
  ASSERT_FALSE(too_short.ok());
  EXPECT_NE(too_short.error().message().find("3600s"), std::string::npos)
      << too_short.error().message();
  EXPECT_FALSE(checked_cert_expiry(200ULL * 365 * 24 * 3600).ok());
  ::setenv("SHOAL_ALLOW_SHORT_CERT_EXPIRY", "1", 1);
  EXPECT_EQ(*checked_cert_expiry(60), 60s);
  EXPECT_FALSE(checked_cert_expiry(59).ok());
  ::unsetenv("SHOAL_ALLOW_SHORT_CERT_EXPIRY");
}

}  // namespace
}  // namespace shoal::pki
