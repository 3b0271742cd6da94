#include "control/manager/ca/cluster_secrets.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "control/pki/join_token.h"
#include "control/pki/node_files.h"

namespace shoal::manager {

namespace {

std::string cluster_file(const std::string& state_dir) {
  return state_dir + "/manager/cluster.json";
}

// 0600: the join tokens let anyone who reads them join the swarm.
Status write_private(const std::string& path, const std::string& content) {
  std::error_code ec;  // a directory that could not be made fails the write, which says why
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  return write_file_atomically(path, content, 0600);
}

// The keys a secrets file holds, or a first one for a file written before gossip had keys.
Result<std::vector<gossip::GossipKey>> stored_or_first_keys(const nlohmann::json& json) {
  if (json.contains("gossip_keys"))
    return gossip::gossip_keys_from_json(json["gossip_keys"]);
  SHOAL_ASSIGN_OR_RETURN(auto first, gossip::make_gossip_key(gossip::unix_now()));
  return std::vector<gossip::GossipKey>{std::move(first)};
}

// Files written before --cert-expiry existed hold none: Docker's default.
std::chrono::seconds expiry_of(const nlohmann::json& json) {
  auto seconds = json.value("cert_expiry_s", int64_t{0});
  return seconds > 0 ? std::chrono::seconds(seconds)
                     : std::chrono::seconds(pki::kDefaultNodeCertValidity);
}

}  // namespace

ClusterSecrets::ClusterSecrets(pki::CertificateAuthority ca, std::string state_dir,
                               std::string cluster_id, JoinTokenPair tokens,
                               std::vector<gossip::GossipKey> gossip_keys)
    : state_dir_(std::move(state_dir)),
      cluster_id_(std::move(cluster_id)),
      ca_(std::make_shared<const pki::CertificateAuthority>(std::move(ca))),
      tokens_(std::move(tokens)),
      gossip_keys_(std::move(gossip_keys)) {}

Result<std::unique_ptr<ClusterSecrets>> ClusterSecrets::create(const std::string& state_dir,
                                                               const std::string& cluster_id) {
  SHOAL_ASSIGN_OR_RETURN(auto ca, pki::CertificateAuthority::create());
  JoinTokenPair tokens{pki::make_join_token(ca), pki::make_join_token(ca)};
  SHOAL_ASSIGN_OR_RETURN(auto keys, stored_or_first_keys(nlohmann::json::object()));
  auto secrets = std::make_unique<ClusterSecrets>(std::move(ca), state_dir, cluster_id,
                                                  std::move(tokens), std::move(keys));
  std::lock_guard lock(secrets->mutex_);
  SHOAL_TRY(secrets->save());
  return secrets;
}

Result<std::unique_ptr<ClusterSecrets>> ClusterSecrets::restore(const std::string& state_dir,
                                                                pki::CertificateAuthority ca,
                                                                const std::string& cluster_id,
                                                                JoinTokenPair tokens) {
  // Fresh gossip keys: a restored swarm shares none with whoever held the old ones.
  SHOAL_ASSIGN_OR_RETURN(auto keys, stored_or_first_keys(nlohmann::json::object()));
  auto secrets = std::make_unique<ClusterSecrets>(std::move(ca), state_dir, cluster_id,
                                                  std::move(tokens), std::move(keys));
  std::lock_guard lock(secrets->mutex_);
  SHOAL_TRY(secrets->save());
  return secrets;
}

namespace {

// The string at `key`, or nothing when there is none (a const json's operator[] must not be
// asked for a key it lacks).
std::optional<std::string> string_at(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

// The root of a cluster file: in the file itself, or for a file written before it held the root,
// the node's root certificate and Docker's key file.
Result<pki::CertificateAuthority> root_of(const nlohmann::json& json,
                                          const std::string& state_dir) {
  auto cert = string_at(json, "ca_cert");
  auto key_pem = string_at(json, "ca_key");
  if (cert && key_pem)
    return pki::CertificateAuthority::load(*cert, *key_pem);
  SHOAL_ASSIGN_OR_RETURN(auto files, pki::load_node_files(state_dir));
  SHOAL_ASSIGN_OR_RETURN(auto key, pki::load_ca_key(state_dir));
  return pki::CertificateAuthority::load(files.ca_cert_pem, key);
}

}  // namespace

Result<std::unique_ptr<ClusterSecrets>> ClusterSecrets::load(const std::string& state_dir) {
  std::ifstream in(cluster_file(state_dir));
  if (!in)
    return sys_error("open", cluster_file(state_dir), errno);
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json["cluster_id"].is_string()) {
    return invalid_argument(cluster_file(state_dir), "is not a cluster file");
  }
  SHOAL_ASSIGN_OR_RETURN(auto ca, root_of(json, state_dir));
  JoinTokenPair tokens{json.value("worker_token", ""), json.value("manager_token", "")};
  SHOAL_ASSIGN_OR_RETURN(auto keys, stored_or_first_keys(json));
  auto secrets = std::make_unique<ClusterSecrets>(std::move(ca), state_dir,
                                                  json.at("cluster_id").get<std::string>(),
                                                  std::move(tokens), std::move(keys));
  secrets->cert_expiry_ = expiry_of(json);
  SHOAL_TRY(secrets->restore_rotation(json));
  if (!json.contains("gossip_keys") || !json.contains("ca_cert")) {
    std::lock_guard lock(secrets->mutex_);
    SHOAL_TRY(secrets->save());
  }
  return secrets;
}

Result<std::unique_ptr<ClusterSecrets>> ClusterSecrets::adopt(const std::string& state_dir,
                                                              const std::string& json_text) {
  auto json = nlohmann::json::parse(json_text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json["cluster_id"].is_string() ||
      !json["ca_cert"].is_string() || !json["ca_key"].is_string()) {
    return invalid_argument("cluster secrets", "are not the JSON object a manager writes");
  }
  SHOAL_ASSIGN_OR_RETURN(auto ca, root_of(json, state_dir));
  JoinTokenPair tokens{json.value("worker_token", ""), json.value("manager_token", "")};
  SHOAL_ASSIGN_OR_RETURN(auto keys, stored_or_first_keys(json));
  auto secrets = std::make_unique<ClusterSecrets>(std::move(ca), state_dir,
                                                  json["cluster_id"].get<std::string>(),
                                                  std::move(tokens), std::move(keys));
  secrets->cert_expiry_ = expiry_of(json);
  SHOAL_TRY(secrets->restore_rotation(json));
  std::lock_guard lock(secrets->mutex_);
  SHOAL_TRY(secrets->save());
  return secrets;
}

Status ClusterSecrets::restore_rotation(const nlohmann::json& json) {
  if (!json.contains("next_ca_cert"))
    return {};
  auto next_cert = string_at(json, "next_ca_cert");
  auto next_key = string_at(json, "next_ca_key");
  auto cross = string_at(json, "cross_signed");
  if (!next_cert || !next_key || !cross)
    return invalid_argument("cluster secrets", "hold a root rotation without its next root");
  SHOAL_ASSIGN_OR_RETURN(auto next, pki::CertificateAuthority::load(*next_cert, *next_key));
  std::lock_guard lock(mutex_);
  rotation_ =
      RootRotation{.next = std::make_shared<const pki::CertificateAuthority>(std::move(next)),
                   .cross_signed_pem = std::move(*cross)};
  return {};
}

std::string ClusterSecrets::to_json() const {
  std::lock_guard lock(mutex_);
  return to_json_locked().dump();
}

nlohmann::json ClusterSecrets::to_json_locked() const {
  nlohmann::json json{{"cluster_id", cluster_id_},
                      {"ca_cert", ca_->cert_pem()},
                      {"ca_key", ca_->key_pem()},
                      {"worker_token", tokens_.worker},
                      {"manager_token", tokens_.manager},
                      {"cert_expiry_s", cert_expiry_.count()},
                      {"gossip_keys", gossip::gossip_keys_to_json(gossip_keys_)}};
  if (rotation_) {
    json["next_ca_cert"] = rotation_->next->cert_pem();
    json["next_ca_key"] = rotation_->next->key_pem();
    json["cross_signed"] = rotation_->cross_signed_pem;
  }
  return json;
}

Status ClusterSecrets::save() const {
  SHOAL_TRY(write_private(cluster_file(state_dir_), to_json_locked().dump(2) + "\n"));
  return pki::save_ca_key(state_dir_, ca_->key_pem());
}

std::shared_ptr<const pki::CertificateAuthority> ClusterSecrets::ca() const {
  std::lock_guard lock(mutex_);
  return ca_;
}

std::optional<RootRotation> ClusterSecrets::rotation() const {
  std::lock_guard lock(mutex_);
  return rotation_;
}

std::string ClusterSecrets::trust_bundle_pem() const {
  std::lock_guard lock(mutex_);
  return ca_->cert_pem() + (rotation_ ? rotation_->next->cert_pem() : std::string());
}

Result<IssuedCertificate> ClusterSecrets::sign(std::string_view csr_pem,
                                               const pki::NodeIdentity& who,
                                               const std::vector<std::string>& ip_sans) const {
  std::shared_ptr<const pki::CertificateAuthority> signer;
  std::string intermediate;
  std::chrono::seconds expiry;
  {
    std::lock_guard lock(mutex_);
    signer = rotation_ ? rotation_->next : ca_;
    intermediate = rotation_ ? rotation_->cross_signed_pem : std::string();
    expiry = cert_expiry_;
  }
  SHOAL_ASSIGN_OR_RETURN(auto leaf, signer->sign(csr_pem, who, ip_sans, expiry));
  return IssuedCertificate{.chain_pem = leaf + intermediate, .issuer = signer->fingerprint()};
}

Status ClusterSecrets::start_root_rotation() {
  SHOAL_ASSIGN_OR_RETURN(auto created, pki::CertificateAuthority::create());
  auto next = std::make_shared<const pki::CertificateAuthority>(std::move(created));
  std::lock_guard lock(mutex_);
  SHOAL_ASSIGN_OR_RETURN(auto cross, ca_->cross_sign(*next));
  auto previous = rotation_;
  rotation_ = RootRotation{.next = std::move(next), .cross_signed_pem = std::move(cross)};
  if (auto saved = save(); !saved.ok()) {
    rotation_ = std::move(previous);
    return saved;
  }
  return {};
}

Status ClusterSecrets::finish_root_rotation() {
  std::lock_guard lock(mutex_);
  if (!rotation_)
    return Error{.op = "finish", .object = "root rotation", .detail = "none is under way"};
  auto previous_ca = ca_;
  auto previous_rotation = rotation_;
  auto previous_tokens = tokens_;
  ca_ = rotation_->next;
  rotation_.reset();
  // Docker's rule: new tokens, which name the new root's digest.
  tokens_ = {pki::make_join_token(*ca_), pki::make_join_token(*ca_)};
  if (auto saved = save(); !saved.ok()) {
    ca_ = std::move(previous_ca);
    rotation_ = std::move(previous_rotation);
    tokens_ = std::move(previous_tokens);
    return saved;
  }
  return {};
}

JoinTokenPair ClusterSecrets::tokens() const {
  std::lock_guard lock(mutex_);
  return tokens_;
}

std::chrono::seconds ClusterSecrets::cert_expiry() const {
  std::lock_guard lock(mutex_);
  return cert_expiry_;
}

Status ClusterSecrets::set_cert_expiry(std::chrono::seconds expiry) {
  std::lock_guard lock(mutex_);
  auto previous = cert_expiry_;
  cert_expiry_ = expiry;
  if (auto saved = save(); !saved.ok()) {
    cert_expiry_ = previous;
    return saved;
  }
  return {};
}

Status ClusterSecrets::rotate(pki::NodeRole role) {
  std::lock_guard lock(mutex_);
  auto previous = tokens_;
  (role == pki::NodeRole::kManager ? tokens_.manager : tokens_.worker) = pki::make_join_token(*ca_);
  if (auto saved = save(); !saved.ok()) {
    tokens_ = previous;
    return saved;
  }
  return {};
}

std::vector<gossip::GossipKey> ClusterSecrets::gossip_keys() const {
  std::lock_guard lock(mutex_);
  return gossip_keys_;
}

Status ClusterSecrets::rotate_gossip_key(int64_t now) {
  SHOAL_ASSIGN_OR_RETURN(auto fresh, gossip::make_gossip_key(now));
  std::lock_guard lock(mutex_);
  auto previous = gossip_keys_;
  gossip_keys_ = gossip::with_new_key(gossip_keys_, std::move(fresh));
  if (auto saved = save(); !saved.ok()) {
    gossip_keys_ = std::move(previous);
    return saved;
  }
  return {};
}

Result<pki::NodeRole> ClusterSecrets::role_for(std::string_view token) const {
  SHOAL_ASSIGN_OR_RETURN(auto presented, pki::parse_join_token(token));
  std::lock_guard lock(mutex_);
  if (!pki::ca_matches(presented, ca_->cert_pem())) {
    return invalid_argument("join token", "is for a different swarm (its CA digest differs)");
  }
  for (auto role : {pki::NodeRole::kWorker, pki::NodeRole::kManager}) {
    const auto& expected = role == pki::NodeRole::kManager ? tokens_.manager : tokens_.worker;
    auto mine = pki::parse_join_token(expected);
    if (mine.ok() && pki::secret_matches(presented.secret, mine->secret)) {
      return role;
    }
  }
  return invalid_argument("join token",
                          "is not valid (rotated or mistyped): a valid join token is "
                          "necessary to join this cluster");
}

}  // namespace shoal::manager
