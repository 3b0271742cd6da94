// The slice of Serf (PROTOCOLS.md §B) a plain member needs to appear in `serf members`.
//
// Tags ride in memberlist's Meta as `ff` + a msgpack map of strings; Meta that does not start
// with ff is the legacy form, a bare role. Serf's own messages travel as memberlist user messages
// whose first byte is the Serf type; a member that wants Serf to show it as "left" rather than
// "failed" broadcasts a leave intent before its memberlist leave.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "gossip/memberlist/bytes.h"

namespace shoal::gossip::serf {

using Tags = std::map<std::string, std::string>;

inline constexpr size_t kMaxMetaSize = 512;
inline constexpr uint8_t kTagMagic = 0xff;
// Delegate versions a member must advertise to push/pull with Serf (dmin, dmax, dcur).
inline constexpr uint8_t kDelegateMin = 2, kDelegateMax = 5, kDelegateCurrent = 4;

enum class MessageType : uint8_t {
  kLeave = 0,
  kJoin = 1,
  kPushPull = 2,
  kUserEvent = 3,
  kQuery = 4,
  kQueryResponse = 5,
  kRelay = 9,
};

// Fails when the encoded tags exceed memberlist's 512-byte Meta limit.
Result<Bytes> encode_tags(const Tags& tags);
// Never fails on legacy Meta (it becomes {"role": meta}); fails on a corrupt ff-prefixed map.
Result<Tags> decode_tags(ByteView meta);

Bytes encode_join_intent(uint64_t ltime, const std::string& node);
Bytes encode_leave_intent(uint64_t ltime, const std::string& node, bool prune = false);

// The Lamport time carried by a Serf message (type byte + msgpack), if it has one.
std::optional<uint64_t> message_ltime(ByteView message);

}  // namespace shoal::gossip::serf
