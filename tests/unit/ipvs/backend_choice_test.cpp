// shoald --lb-backend: the choice on kernels with and without each backend.
#include "dataplane/lb/backend_choice.h"

#include <gtest/gtest.h>

namespace shoal::lb {
namespace {

const Status kOk{};
const Status kNoIpvs =
    sys_error("use the IPVS load balancer", "on this kernel", ENOENT, "IPVS is not available");
const Status kNoEbpf = sys_error("load a cgroup/connect4 program", "on this kernel", EPERM);

TEST(BackendChoice, AutoTakesEbpfWhereTheKernelRunsIt) {
  auto chosen = choose_backend("auto", {kOk, kOk});
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, BackendKind::kEbpf);
  chosen = choose_backend("auto", {kOk, kNoIpvs});
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, BackendKind::kEbpf);
}

TEST(BackendChoice, AutoFallsBackToIpvs) {
  auto chosen = choose_backend("auto", {kNoEbpf, kOk});
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, BackendKind::kIpvs);
}

TEST(BackendChoice, AutoWithNeitherSaysWhyForBoth) {
  auto chosen = choose_backend("auto", {kNoEbpf, kNoIpvs});
  ASSERT_FALSE(chosen.ok());
  const std::string message = chosen.error().message();
  EXPECT_NE(message.find("cgroup/connect4"), std::string::npos) << message;
  EXPECT_NE(message.find("IPVS is not available"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(BackendChoice, AForcedBackendTheKernelLacksIsRefusedInOneLine) {
  auto ipvs = choose_backend("ipvs", {kOk, kNoIpvs});
  ASSERT_FALSE(ipvs.ok());
  EXPECT_NE(ipvs.error().message().find("IPVS is not available"), std::string::npos);
  EXPECT_EQ(ipvs.error().message().find('\n'), std::string::npos);
  auto ebpf = choose_backend("ebpf", {kNoEbpf, kOk});
  ASSERT_FALSE(ebpf.ok());
  EXPECT_NE(ebpf.error().message().find("eBPF"), std::string::npos);
}

TEST(BackendChoice, AForcedBackendTheKernelHasIsTaken) {
  auto ipvs = choose_backend("ipvs", {kOk, kOk});
  ASSERT_TRUE(ipvs.ok());
  EXPECT_EQ(*ipvs, BackendKind::kIpvs);
  auto ebpf = choose_backend("ebpf", {kOk, kNoIpvs});
  ASSERT_TRUE(ebpf.ok());
  EXPECT_EQ(*ebpf, BackendKind::kEbpf);
}

TEST(BackendChoice, AnUnknownNameIsRefused) {
  auto chosen = choose_backend("lvs", {kOk, kOk});
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.error().message().find("auto, ebpf or ipvs"), std::string::npos);
}

}  // namespace
}  // namespace shoal::lb
