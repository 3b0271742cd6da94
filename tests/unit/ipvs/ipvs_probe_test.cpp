// The IPVS probe on this kernel: no IPVS here, and the reason in one line (the VM has it).
#include "ipvs/ipvs_probe.h"

#include <gtest/gtest.h>

namespace shoal::lb {
namespace {

TEST(IpvsProbe, AbsenceIsReportedInOneClearLine) {
  Status status = ipvs_available();
  if (status.ok()) {
    GTEST_SKIP() << "this kernel has IPVS";
  }
  EXPECT_NE(status.error().message().find("IPVS is not available"), std::string::npos);
  EXPECT_EQ(status.error().message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace shoal::lb
