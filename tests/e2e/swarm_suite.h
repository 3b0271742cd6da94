// GoogleTest fixture bases for the e2e suites: the swarm they test against, the root check, a
// setup error that fails every test, the daemon logs of a failing test, and a teardown that
// leaves nothing of the testbed run behind. A suite names itself as the template argument
// (CRTP) so that each suite gets its own static cluster and says how to build it:
//
//   class SwarmPorts : public SharedSwarmTest<SwarmPorts> {
//    public:
//     static constexpr SwarmShape kSwarm{.hosts = 4, .members = 3};
//     static std::string grow(SwarmCluster& c);  // optional: what the tests need beyond the swarm
//     ...
//   };
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include "tests/e2e/swarm_cluster.h"

namespace shoal::e2e {

// The swarm a suite starts: `hosts` simulated hosts, the first `members` of them in the swarm.
struct SwarmShape {
  int hosts = 0;
  int members = 0;
  size_t log_lines = 40;  // of each daemon's log, printed when a test fails
};

inline constexpr const char* kNeedsRoot = "the e2e tests need root (network namespaces, cgroups)";

// Destroys the cluster and expects its testbed run to leave nothing (namespaces, node cgroups),
// whatever the tests did to it.
inline void end_cluster(std::unique_ptr<SwarmCluster>& cluster) {
  if (cluster == nullptr) {
    return;
  }
  const std::string run = cluster->testbed().run();
  cluster.reset();
  const std::string left = run_leftovers(run);
  EXPECT_TRUE(left.empty()) << "left after the cluster's teardown: " << left;
}

// One swarm shared by all tests of the suite, started once (starting one takes seconds); every
// test leaves it as it found it. Without root, every test skips.
template <typename Suite>
class SharedSwarmTest : public ::testing::Test {
 public:
  // The suite's own setup once the swarm formed (networks, services): an error or "". A suite
  // that needs some hides this one with its own, public so that this base can call it.
  static std::string grow(SwarmCluster& /*cluster*/) { return ""; }

 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      return;
    }
    const auto started = std::chrono::steady_clock::now();
    cluster_ = SwarmCluster::start(Suite::kSwarm.hosts, Suite::kSwarm.members, setup_error_);
    if (cluster_ != nullptr) {
      // The cluster stays on error, so that failing tests print its daemons' logs.
      setup_error_ = Suite::grow(*cluster_);
    }
    std::printf("[ cluster  ] up in %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()));
  }

  static void TearDownTestSuite() { end_cluster(cluster_); }

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << kNeedsRoot;
    }
    ASSERT_NE(cluster_, nullptr) << setup_error_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      std::printf("%s", cluster_->daemon_logs(Suite::kSwarm.log_lines).c_str());
    }
  }

  SwarmCluster& c() { return *cluster_; }

  // Per suite: each Suite instantiates its own.
  static inline std::unique_ptr<SwarmCluster> cluster_;
  static inline std::string setup_error_;
};

// A new swarm for every test, for suites whose tests end the swarm they use. Without root,
// every test skips.
template <typename Suite>
class FreshSwarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << kNeedsRoot;
    }
    std::string error;
    cluster_ = SwarmCluster::start(Suite::kSwarm.hosts, Suite::kSwarm.members, error);
    ASSERT_NE(cluster_, nullptr) << error;
  }

  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      std::printf("%s", cluster_->daemon_logs(Suite::kSwarm.log_lines).c_str());
    }
    end_cluster(cluster_);
  }

  SwarmCluster& c() { return *cluster_; }

  std::unique_ptr<SwarmCluster> cluster_;
};

}  // namespace shoal::e2e
