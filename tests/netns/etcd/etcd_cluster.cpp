#include "tests/netns/etcd/etcd_cluster.h"

#include <sched.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "control/pki/ca.h"
#include "control/pki/identity.h"
#include "tests/support/testbed.h"

namespace shoal::testing {

namespace {

etcd::Tls sign(const Certificates& certs, const std::string& node_id, pki::NodeRole role,
               const std::string& ip) {
  auto ca = pki::CertificateAuthority::load(certs.ca_pem, certs.ca_key_pem);
  EXPECT_TRUE(ca.ok());
  auto key = pki::make_key_and_csr();
  EXPECT_TRUE(key.ok());
  auto cert = ca->sign(key->csr_pem, {.node_id = node_id, .role = role, .cluster_id = "c1"}, {ip});
  EXPECT_TRUE(cert.ok()) << (cert.ok() ? "" : cert.error().message());
  return etcd::Tls{.ca_pem = certs.ca_pem, .cert_pem = *cert, .key_pem = key->key_pem};
}

}  // namespace

void PrivateNetwork::SetUp() {
  ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare: " << std::strerror(errno);
  auto up = run_command({"ip", "link", "set", "lo", "up"});
  ASSERT_TRUE(up.ok() && up->exit_code == 0);
}

etcd::Tls Certificates::manager(const std::string& node_id, const std::string& ip) const {
  return sign(*this, node_id, pki::NodeRole::kManager, ip);
}

etcd::Tls Certificates::worker(const std::string& node_id, const std::string& ip) const {
  return sign(*this, node_id, pki::NodeRole::kWorker, ip);
}

Certificates make_certificates() {
  auto ca = pki::CertificateAuthority::create();
  EXPECT_TRUE(ca.ok());
  return Certificates{.ca_pem = ca->cert_pem(), .ca_key_pem = ca->key_pem()};
}

etcd::MemberConfig EtcdCluster::config(int i, int members) const {
  std::string initial;
  for (int m = 1; m <= members; ++m) {
    initial += (m > 1 ? "," : "") + std::string("m") + std::to_string(m) + "=" +
               etcd::peer_url(ip(m), 2380);
  }
  return etcd::MemberConfig{.name = "m" + std::to_string(i),
                            .dir = dir_ + "/m" + std::to_string(i),
                            .peer_ip = ip(i),
                            .client_ip = ip(i),
                            .initial_cluster = initial,
                            .tls = certs_.manager("m" + std::to_string(i), ip(i))};
}

std::unique_ptr<EtcdCluster> EtcdCluster::start(int members) {
  auto cluster = std::make_unique<EtcdCluster>();
  char tmpl[] = "/tmp/shoal-etcd-test.XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl), nullptr);
  cluster->dir_ = tmpl;
  cluster->certs_ = make_certificates();
  for (int i = 1; i <= members; ++i) {
    auto member = etcd::Member::start(cluster->config(i, members));
    EXPECT_TRUE(member.ok()) << (member.ok() ? "" : member.error().message());
    if (!member.ok()) {
      return cluster;
    }
    cluster->members_.push_back(std::move(*member));
  }
  for (auto& member : cluster->members_) {
    auto serving = member->wait_serving(std::chrono::seconds(20));
    EXPECT_TRUE(serving.ok()) << (serving.ok() ? "" : serving.error().message());
  }
  return cluster;
}

EtcdCluster::~EtcdCluster() {
  members_.clear();
  if (std::getenv("SHOAL_KEEP_ETCD_TEST_DIR") != nullptr) {
    std::cerr << "etcd test data kept in " << dir_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::unique_ptr<etcd::Client> EtcdCluster::client(int i, std::chrono::milliseconds timeout) {
  return member(i).client({.call_timeout = timeout});
}

}  // namespace shoal::testing
