#include "gossip/serf/serf_compat.h"

#include "gossip/memberlist/msgpack_io.h"

namespace shoal::gossip::serf {

Result<Bytes> encode_tags(const Tags& tags) {
  Bytes out{kTagMagic};
  MsgpackWriter w(out);
  w.map(static_cast<uint32_t>(tags.size()));
  for (const auto& [key, value] : tags) {
    w.raw(key);
    w.raw(value);
  }
  if (out.size() > kMaxMetaSize) {
    return invalid_argument("tags", "encode to " + std::to_string(out.size()) +
                                        " bytes, more than memberlist's 512-byte limit");
  }
  return out;
}

Result<Tags> decode_tags(ByteView meta) {
  if (meta.empty() || meta[0] != kTagMagic) {
    return Tags{{"role", to_string(meta)}};
  }
  size_t offset = 1;
  UnpackLimits limits;
  limits.max_string = kMaxMetaSize;
  limits.max_container = kMaxMetaSize;
  limits.max_depth = 2;
  SHOAL_ASSIGN_OR_RETURN(auto handle, unpack_complete_value(meta, offset, limits, "tags"));
  const msgpack::object& o = handle.get();
  if (o.type != msgpack::type::MAP) {
    return Error{"decode", "tags", 0, "expected a msgpack map"};
  }
  Tags tags;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    SHOAL_ASSIGN_OR_RETURN(std::string key, read_string(o.via.map.ptr[i].key, "tag key"));
    SHOAL_ASSIGN_OR_RETURN(std::string value, read_string(o.via.map.ptr[i].val, "tag value"));
    tags[std::move(key)] = std::move(value);
  }
  return tags;
}

Bytes encode_join_intent(uint64_t ltime, const std::string& node) {
  Bytes out{static_cast<uint8_t>(MessageType::kJoin)};
  MsgpackWriter w(out);
  w.map(2);
  w.key("LTime"), w.uint(ltime);
  w.key("Node"), w.raw(node);
  return out;
}

Bytes encode_leave_intent(uint64_t ltime, const std::string& node, bool prune) {
  Bytes out{static_cast<uint8_t>(MessageType::kLeave)};
  MsgpackWriter w(out);
  w.map(3);
  w.key("LTime"), w.uint(ltime);
  w.key("Node"), w.raw(node);
  w.key("Prune"), w.boolean(prune);
  return out;
}

std::optional<uint64_t> message_ltime(ByteView message) {
  if (message.empty())
    return std::nullopt;
  size_t offset = 1;
  auto handle = unpack_complete_value(message, offset, UnpackLimits{}, "serf message");
  if (!handle.ok() || handle->get().type != msgpack::type::MAP)
    return std::nullopt;
  const msgpack::object& o = handle->get();
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    auto key = read_key(o.via.map.ptr[i].key, "serf message");
    if (key.ok() && *key == "LTime") {
      auto v = read_uint(o.via.map.ptr[i].val, "LTime", UINT64_MAX);
      if (v.ok())
        return *v;
    }
  }
  return std::nullopt;
}

}  // namespace shoal::gossip::serf
