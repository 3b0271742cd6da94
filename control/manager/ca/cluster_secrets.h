// What only managers hold: the root CA (with its key, and the next root's during a rotation), the
// cluster id, the two join tokens and the gossip encryption keys (gossip_keys.h). Kept in
// <state-dir>/manager/cluster.json (0600) and the CA key also in Docker's file, so a restarted
// manager keeps accepting the tokens it printed before.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "control/pki/ca.h"
#include "control/pki/identity.h"
#include "gossip/keys/gossip_keys.h"

namespace shoal::manager {

struct JoinTokenPair {
  std::string worker;
  std::string manager;
};

// A root rotation under way (`swarm ca --rotate`): the next root signs every certificate from
// its start, each chain carrying the next root cross-signed by the current one, so nodes still
// trusting only the current root verify them. Nodes trust both roots meanwhile and renew at once;
// when every node's certificate is the next root's, it becomes the current root and the old one
// is trusted no more.
struct RootRotation {
  std::shared_ptr<const pki::CertificateAuthority> next;
  std::string cross_signed_pem;
};

// A node certificate as signed now: the chain a node presents and the signing root's fingerprint.
struct IssuedCertificate {
  std::string chain_pem;
  std::string issuer;
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
  std::string to_json() const;  // holds the CA keys: for etcd (TLS, managers only)
  // A restored cluster (swarm restore): the backup's CA, cluster id and tokens, written to
  // `state_dir`, so nodes and tokens of the lost cluster stay valid.
  static Result<std::unique_ptr<ClusterSecrets>> restore(const std::string& state_dir,
                                                         pki::CertificateAuthority ca,
                                                         const std::string& cluster_id,
                                                         JoinTokenPair tokens);

  // The current root: the one join tokens name and backups hold.
  std::shared_ptr<const pki::CertificateAuthority> ca() const;
  std::optional<RootRotation> rotation() const;
  // The roots nodes trust, PEM: the current one first, then the next one during a rotation.
  std::string trust_bundle_pem() const;
  // Signs a node certificate with the root that signs now (see RootRotation).
  Result<IssuedCertificate> sign(std::string_view csr_pem, const pki::NodeIdentity& who,
                                 const std::vector<std::string>& ip_sans) const;
  // Starts a rotation to a new root; one under way starts over with another new root (as
  // Docker's). Saved before it returns.
  Status start_root_rotation();
  // The next root becomes the current one and the join tokens take its digest (their secrets
  // stay, so tokens handed out keep working once their digest is updated). Saved.
  Status finish_root_rotation();

  const std::string& cluster_id() const { return cluster_id_; }
  JoinTokenPair tokens() const;
  Status rotate(pki::NodeRole role);
  // The gossip keys, oldest first.
  std::vector<gossip::GossipKey> gossip_keys() const;
  // Adds a fresh gossip key (the oldest of more than three goes) and saves.
  Status rotate_gossip_key(int64_t now);
  // How long the node certificates the CA signs are valid (`swarm init/update --cert-expiry`).
  std::chrono::seconds cert_expiry() const;
  Status set_cert_expiry(std::chrono::seconds expiry);
  // The role a presented token grants, or an error saying why it grants none.
  Result<pki::NodeRole> role_for(std::string_view token) const;

  ClusterSecrets(pki::CertificateAuthority ca, std::string state_dir, std::string cluster_id,
                 JoinTokenPair tokens, std::vector<gossip::GossipKey> gossip_keys);

 private:
  // Everything in cluster.json, and the CA key in Docker's file; under mutex_.
  Status save() const;
  nlohmann::json to_json_locked() const;
  Status restore_rotation(const nlohmann::json& json);

  std::string state_dir_;
  std::string cluster_id_;
  mutable std::mutex mutex_;
  std::shared_ptr<const pki::CertificateAuthority> ca_;
  std::optional<RootRotation> rotation_;
  JoinTokenPair tokens_;
  std::vector<gossip::GossipKey> gossip_keys_;
  std::chrono::seconds cert_expiry_ = pki::kDefaultNodeCertValidity;
};

}  // namespace shoal::manager
