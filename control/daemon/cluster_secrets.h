// What only managers hold: the root CA (with its key), the cluster id, the two join tokens and the
// gossip encryption keys (gossip_keys.h). Kept in <state-dir>/manager/cluster.json next to the CA
// key written by pki, so a restarted manager keeps accepting the tokens it printed before.
#pragma once

#include <chrono>

#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "control/daemon/gossip_keys.h"
#include "control/pki/ca.h"
#include "control/pki/identity.h"

namespace shoal::daemon {

struct JoinTokenPair {
  std::string worker;
  std::string manager;
};

class ClusterSecrets {
 public:
  // A new cluster: a new CA, cluster id and tokens, written to `state_dir`.
  static Result<std::unique_ptr<ClusterSecrets>> create(const std::string& state_dir,
                                                        const std::string& cluster_id);
  static Result<std::unique_ptr<ClusterSecrets>> load(const std::string& state_dir);
  // Takes over secrets written by to_json() on another manager, saving them in `state_dir`:
  // with several managers the leader keeps them in etcd and a new leader adopts them.
  static Result<std::unique_ptr<ClusterSecrets>> adopt(const std::string& state_dir,
                                                       const std::string& json);
  std::string to_json() const;  // holds the CA key: for etcd (TLS, managers only)
  // A restored cluster (swarm restore): the backup's CA, cluster id and tokens, written to
  // `state_dir`, so nodes and tokens of the lost cluster stay valid.
  static Result<std::unique_ptr<ClusterSecrets>> restore(const std::string& state_dir,
                                                         pki::CertificateAuthority ca,
                                                         const std::string& cluster_id,
                                                         JoinTokenPair tokens);

  const pki::CertificateAuthority& ca() const { return ca_; }
  const std::string& cluster_id() const { return cluster_id_; }
  JoinTokenPair tokens() const;
  Status rotate(pki::NodeRole role);
  // The gossip keys, oldest first.
  std::vector<GossipKey> gossip_keys() const;
  // Adds a fresh gossip key (the oldest of more than three goes) and saves.
  Status rotate_gossip_key(int64_t now);
  // How long the node certificates the CA signs are valid (`swarm init/update --cert-expiry`).
  std::chrono::seconds cert_expiry() const;
  Status set_cert_expiry(std::chrono::seconds expiry);
  // The role a presented token grants, or an error saying why it grants none.
  Result<pki::NodeRole> role_for(std::string_view token) const;

  ClusterSecrets(pki::CertificateAuthority ca, std::string state_dir, std::string cluster_id,
                 JoinTokenPair tokens, std::vector<GossipKey> gossip_keys);

 private:
  Status save() const;

  pki::CertificateAuthority ca_;
  std::string state_dir_;
  std::string cluster_id_;
  mutable std::mutex mutex_;
  JoinTokenPair tokens_;
  std::vector<GossipKey> gossip_keys_;
  std::chrono::seconds cert_expiry_ = pki::kDefaultNodeCertValidity;  // guarded by mutex_
};

}  // namespace shoal::daemon
