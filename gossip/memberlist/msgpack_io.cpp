#include "gossip/memberlist/msgpack_io.h"

#include <limits>

namespace shoal::gossip {

void MsgpackWriter::raw(ByteView bytes) {
  packer_.pack_v4raw(static_cast<uint32_t>(bytes.size()));
  packer_.pack_v4raw_body(reinterpret_cast<const char*>(bytes.data()),
                          static_cast<uint32_t>(bytes.size()));
}

Result<std::optional<msgpack::object_handle>> unpack_value(ByteView data, size_t& offset,
                                                           const UnpackLimits& limits,
                                                           std::string_view what) {
  if (offset >= data.size()) {
    return std::optional<msgpack::object_handle>{};
  }
  const msgpack::unpack_limit limit(limits.max_container, limits.max_container, limits.max_string,
                                    limits.max_string, 0, limits.max_depth);
  size_t off = offset;
  try {
    msgpack::object_handle handle = msgpack::unpack(reinterpret_cast<const char*>(data.data()),
                                                    data.size(), off, nullptr, nullptr, limit);
    offset = off;
    return std::optional<msgpack::object_handle>(std::move(handle));
  } catch (const msgpack::insufficient_bytes&) {
    return std::optional<msgpack::object_handle>{};
  } catch (const msgpack::depth_size_overflow&) {
    return Error{"decode", std::string(what), 0, "nesting too deep"};
  } catch (const msgpack::size_overflow& e) {
    return Error{"decode", std::string(what), 0, std::string("limit exceeded: ") + e.what()};
  } catch (const std::exception& e) {
    return Error{"decode", std::string(what), 0, std::string("malformed msgpack: ") + e.what()};
  }
}

Result<msgpack::object_handle> unpack_complete_value(ByteView data, size_t& offset,
                                                     const UnpackLimits& limits,
                                                     std::string_view what) {
  SHOAL_ASSIGN_OR_RETURN(auto value, unpack_value(data, offset, limits, what));
  if (!value) {
    return Error{"decode", std::string(what), 0, "truncated msgpack value"};
  }
  return std::move(*value);
}

namespace {
Error field_error(std::string_view field, std::string detail) {
  return Error{"decode field", std::string(field), 0, std::move(detail)};
}
}  // namespace

Result<uint64_t> read_uint(const msgpack::object& o, std::string_view field, uint64_t max) {
  uint64_t v = 0;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    v = o.via.u64;
  } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    return field_error(field, "negative value for an unsigned field");
  } else if (o.type == msgpack::type::NIL) {
    return uint64_t{0};
  } else {
    return field_error(field, "expected an integer");
  }
  if (v > max) {
    return field_error(field, "value " + std::to_string(v) + " out of range");
  }
  return v;
}

Result<int64_t> read_int(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return field_error(field, "value out of range");
    }
    return static_cast<int64_t>(o.via.u64);
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    return o.via.i64;
  }
  if (o.type == msgpack::type::NIL) {
    return int64_t{0};
  }
  return field_error(field, "expected an integer");
}

Result<bool> read_bool(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::BOOLEAN) {
    return o.via.boolean;
  }
  if (o.type == msgpack::type::NIL) {
    return false;
  }
  return field_error(field, "expected a boolean");
}

Result<Bytes> read_bytes(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::STR) {
    auto p = reinterpret_cast<const uint8_t*>(o.via.str.ptr);
    return Bytes(p, p + o.via.str.size);
  }
  if (o.type == msgpack::type::BIN) {
    auto p = reinterpret_cast<const uint8_t*>(o.via.bin.ptr);
    return Bytes(p, p + o.via.bin.size);
  }
  if (o.type == msgpack::type::NIL) {
    return Bytes{};
  }
  return field_error(field, "expected a byte string");
}

Result<std::string> read_string(const msgpack::object& o, std::string_view field) {
  SHOAL_ASSIGN_OR_RETURN(Bytes b, read_bytes(o, field));
  return std::string(b.begin(), b.end());
}

Result<std::string_view> read_key(const msgpack::object& o, std::string_view what) {
  if (o.type == msgpack::type::STR) {
    return std::string_view(o.via.str.ptr, o.via.str.size);
  }
  if (o.type == msgpack::type::BIN) {
    return std::string_view(o.via.bin.ptr, o.via.bin.size);
  }
  return Error{"decode", std::string(what), 0, "map key is not a string"};
}

}  // namespace shoal::gossip
