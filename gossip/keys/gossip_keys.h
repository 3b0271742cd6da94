// The gossip encryption keys the manager makes and hands out (Docker's "networking:gossip" keys):
// every node's gossip member installs them all and seals with one, so a host without them can
// neither join nor read nor inject rows.
//
// Rotation follows swarmkit's key manager and libnetwork: the manager keeps the three newest keys;
// each rotation adds one and drops the oldest. Nodes seal with the second newest, so a new key is
// installed everywhere a whole rotation period before anyone seals with it, and a node that has not
// yet received the newest key still opens everything it is sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace shoal::gossip {

struct GossipKey {
  std::string key;      // 16 random bytes (AES-128, as swarmkit's keys)
  int64_t created = 0;  // unix seconds
  bool operator==(const GossipKey&) const = default;
};

inline constexpr size_t kGossipKeysKept = 3;
inline constexpr size_t kGossipKeyBytes = 16;
// Docker rotates every 12 hours.
inline constexpr std::chrono::seconds kGossipKeyRotation = std::chrono::hours(12);

// The wall clock in unix seconds: keys are dated so, as they outlive any one manager.
int64_t unix_now();
// A fresh key from the CSPRNG.
Result<GossipKey> make_gossip_key(int64_t now);
// `keys` with `fresh` added, only the newest kGossipKeysKept kept, oldest first.
std::vector<GossipKey> with_new_key(std::vector<GossipKey> keys, GossipKey fresh);
// Whether the newest key is older than `interval` (or there is none).
bool rotation_due(const std::vector<GossipKey>& keys, int64_t now, std::chrono::seconds interval);
// The order a node installs them in: the key it seals with first (the second newest, or the only
// one), then the others newest first.
std::vector<std::string> keyring_order(std::vector<GossipKey> keys);

// Standard base64 of a key, as serf's -encrypt and gossip::Keyring::decode_base64_key take it.
std::string base64_key(const std::string& key);

// JSON for cluster.json and etcd: [{"key": base64, "created": unix}], oldest first.
nlohmann::json gossip_keys_to_json(const std::vector<GossipKey>& keys);
// Bounded and checked: at most kGossipKeysKept entries, each a base64 key of 16, 24 or 32 bytes.
Result<std::vector<GossipKey>> gossip_keys_from_json(const nlohmann::json& json);

}  // namespace shoal::gossip
