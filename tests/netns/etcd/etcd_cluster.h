// Real etcd clusters for tests: members on 127.0.0.1, .2, .3 ... of a network namespace private
// to the test process, with certificates from a fresh swarm CA, data under a temporary
// directory that the fixture removes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "control/etcd/member.h"

namespace shoal::testing {

// Moves the test process into a new network namespace with loopback up (every test of this
// binary runs in its own process under CTest, so each gets its own).
class PrivateNetwork : public ::testing::Environment {
 public:
  void SetUp() override;
};

struct Certificates {
  std::string ca_pem;
  etcd::Tls manager(const std::string& node_id, const std::string& ip) const;
  etcd::Tls worker(const std::string& node_id, const std::string& ip) const;
  std::string ca_key_pem;
};
Certificates make_certificates();

class EtcdCluster {
 public:
  // n members, named m1..mn, on 127.0.0.1..n; waits until they serve.
  static std::unique_ptr<EtcdCluster> start(int members);
  ~EtcdCluster();

  etcd::Member& member(int i) { return *members_.at(static_cast<size_t>(i - 1)); }
  std::unique_ptr<etcd::Client> client(
      int i, std::chrono::milliseconds timeout = std::chrono::milliseconds(1500));
  const Certificates& certificates() const { return certs_; }
  const std::string& dir() const { return dir_; }
  static std::string ip(int i) { return "127.0.0." + std::to_string(i); }
  etcd::MemberConfig config(int i, int members) const;

 private:
  std::string dir_;
  Certificates certs_;
  std::vector<std::unique_ptr<etcd::Member>> members_;
};

}  // namespace shoal::testing
