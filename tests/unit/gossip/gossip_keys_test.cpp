// The manager's gossip keys: kept three at a time, rotated when due, installed with the second
// newest sealing, and read back from JSON only when well formed.
#include "gossip/keys/gossip_keys.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/assertions.h"

namespace shoal::gossip {
namespace {

GossipKey key(char fill, int64_t created) {
  return {.key = std::string(kGossipKeyBytes, fill), .created = created};
}

TEST(GossipKeys, FreshKeysAreRandomAndDated) {
  auto a = make_gossip_key(100);
  auto b = make_gossip_key(100);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->key.size(), kGossipKeyBytes);
  EXPECT_EQ(a->created, 100);
  EXPECT_NE(a->key, b->key);
}

TEST(GossipKeys, ARotationAddsOneAndKeepsTheNewestThree) {
  std::vector<GossipKey> keys{key('a', 1)};
  keys = with_new_key(keys, key('b', 2));
  keys = with_new_key(keys, key('c', 3));
  EXPECT_EQ(keys.size(), 3u);
  keys = with_new_key(keys, key('d', 4));
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.front(), key('b', 2));  // the oldest went
  EXPECT_EQ(keys.back(), key('d', 4));
}

TEST(GossipKeys, RotationIsDueOnceTheNewestKeyIsOlderThanThePeriod) {
  std::vector<GossipKey> keys{key('a', 1000), key('b', 5000)};
  EXPECT_FALSE(rotation_due(keys, 5000 + 43199, kGossipKeyRotation));
  EXPECT_TRUE(rotation_due(keys, 5000 + 43200, kGossipKeyRotation));
  EXPECT_TRUE(rotation_due({}, 0, kGossipKeyRotation));
}

TEST(GossipKeys, NodesSealWithTheSecondNewestKey) {
  // Installed everywhere one period before anyone seals with it: a node that has not yet heard
  // of the newest key still opens everything.
  auto order = keyring_order({key('c', 3), key('a', 1), key('b', 2)});
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], std::string(kGossipKeyBytes, 'b'));
  EXPECT_EQ(order[1], std::string(kGossipKeyBytes, 'c'));
  EXPECT_EQ(order[2], std::string(kGossipKeyBytes, 'a'));
  EXPECT_EQ(keyring_order({key('a', 1)}), std::vector<std::string>{std::string(16, 'a')});
}

TEST(GossipKeys, JsonRoundTripsAndRefusesWhatIsNotKeys) {
  std::vector<GossipKey> keys{key('a', 1), key('b', 2)};
  auto back = gossip_keys_from_json(gossip_keys_to_json(keys));
  ASSERT_OK(back);
  EXPECT_EQ(*back, keys);

  using nlohmann::json;
  EXPECT_FALSE(gossip_keys_from_json(json::object()).ok());
  EXPECT_FALSE(gossip_keys_from_json(json::array({{{"key", "AAAA"}, {"created", 1}}})).ok());
  EXPECT_FALSE(gossip_keys_from_json(json::array({{{"key", 7}, {"created", 1}}})).ok());
  auto four = gossip_keys_to_json({key('a', 1), key('b', 2), key('c', 3)});
  four.push_back(four.front());
  EXPECT_FALSE(gossip_keys_from_json(four).ok());
}

}  // namespace
}  // namespace shoal::gossip
