// A test environment that moves the test process into a private mount namespace before any test
// runs, so the bpffs and cgroup2 mounts the eBPF code makes when they are missing stay private
// and vanish with the process. Register it with ::testing::AddGlobalTestEnvironment.
#pragma once

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>

#include "tests/support/testbed.h"

namespace shoal::testing {

class PrivateMounts : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << "unshare: " << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr), 0);
    clean_stale_runs();
  }
};

}  // namespace shoal::testing
