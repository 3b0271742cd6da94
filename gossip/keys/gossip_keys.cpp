#include "gossip/keys/gossip_keys.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "gossip/memberlist/keyring.h"

namespace shoal::gossip {

namespace {}  // namespace

std::string base64_key(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

namespace {

void sort_oldest_first(std::vector<GossipKey>& keys) {
  std::stable_sort(keys.begin(), keys.end(),
                   [](const GossipKey& a, const GossipKey& b) { return a.created < b.created; });
}

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<GossipKey> make_gossip_key(int64_t now) {
  GossipKey fresh{.key = std::string(kGossipKeyBytes, '\0'), .created = now};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.key.data()),
                 static_cast<int>(fresh.key.size())) != 1) {
    return Error{.op = "make", .object = "gossip key", .detail = "the CSPRNG failed"};
  }
  return fresh;
}

std::vector<GossipKey> with_new_key(std::vector<GossipKey> keys, GossipKey fresh) {
  keys.push_back(std::move(fresh));
  sort_oldest_first(keys);
  if (keys.size() > kGossipKeysKept)
    keys.erase(keys.begin(), keys.end() - static_cast<ptrdiff_t>(kGossipKeysKept));
  return keys;
}

bool rotation_due(const std::vector<GossipKey>& keys, int64_t now, std::chrono::seconds interval) {
  int64_t newest = 0;
  for (const auto& key : keys)
    newest = std::max(newest, key.created);
  return keys.empty() || now - newest >= interval.count();
}

std::vector<std::string> keyring_order(std::vector<GossipKey> keys) {
  sort_oldest_first(keys);
  std::vector<std::string> out;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it)
    out.push_back(it->key);
  if (out.size() >= 2)
    std::swap(out[0], out[1]);  // newest first, then the second newest swapped to the front
  return out;
}

nlohmann::json gossip_keys_to_json(const std::vector<GossipKey>& keys) {
  auto out = nlohmann::json::array();
  for (const auto& key : keys)
    out.push_back({{"key", base64_key(key.key)}, {"created", key.created}});
  return out;
}

Result<std::vector<GossipKey>> gossip_keys_from_json(const nlohmann::json& json) {
  if (!json.is_array() || json.size() > kGossipKeysKept) {
    return invalid_argument(
        "gossip keys", "must be a list of at most " + std::to_string(kGossipKeysKept) + " keys");
  }
  std::vector<GossipKey> keys;
  for (const auto& entry : json) {
    if (!entry.is_object() || !entry["key"].is_string() || !entry["created"].is_number_integer())
      return invalid_argument("gossip key", "must be {\"key\": base64, \"created\": seconds}");
    SHOAL_ASSIGN_OR_RETURN(auto key,
                           gossip::Keyring::decode_base64_key(entry["key"].get<std::string>()));
    keys.push_back(
        {.key = std::string(key.begin(), key.end()), .created = entry["created"].get<int64_t>()});
  }
  sort_oldest_first(keys);
  return keys;
}

}  // namespace shoal::gossip
