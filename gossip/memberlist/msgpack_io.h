// msgpack helpers that follow go-msgpack v0.5.3's default handle, which memberlist and serf use.
//
// Writing: structs are maps keyed by Go field names, strings and []byte both use the old raw
// family (fixraw / raw16 / raw32, never str8 or bin), unsigned integers take the smallest form.
// msgpack-cxx's packer can express all of that (pack_v4raw), so MsgpackWriter only wraps it.
//
// Reading: msgpack-cxx unpacks one value with hard limits on container sizes, string sizes and
// nesting; its exceptions are turned into shoal::Error here so no exception leaves the codec. The
// field readers accept every integer encoding (v2 peers send signed forms) and both raw and bin.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "common/result.h"
#include "gossip/memberlist/bytes.h"

namespace shoal::gossip {

// Bounds applied while unpacking a single msgpack value.
struct UnpackLimits {
  size_t max_container = 1024;    // entries in one array or map
  size_t max_string = 64 * 1024;  // bytes in one string / byte slice
  size_t max_depth = 8;
};

class MsgpackWriter {
 public:
  explicit MsgpackWriter(Bytes& out) : out_(out), packer_(*this) {}

  void map(uint32_t entries) { packer_.pack_map(entries); }
  void array(uint32_t entries) { packer_.pack_array(entries); }
  void raw(ByteView bytes);
  void raw(std::string_view text) { raw(as_bytes(text)); }
  void key(std::string_view name) { raw(name); }
  void uint(uint64_t value) { packer_.pack_uint64(value); }
  // Go `int`, written the v0.5.3 way: non-negative values as unsigned forms.
  void go_int(int64_t value) { packer_.pack_int64(value); }
  void boolean(bool value) { value ? packer_.pack_true() : packer_.pack_false(); }
  void nil() { packer_.pack_nil(); }

  // msgpack-cxx stream interface.
  void write(const char* data, size_t size) { out_.insert(out_.end(), data, data + size); }

 private:
  Bytes& out_;
  msgpack::packer<MsgpackWriter> packer_;
};

// Unpacks the value that starts at `offset` and advances `offset` past it. Returns nullopt when
// the input ends before the value does (a stream reader may then wait for more bytes).
Result<std::optional<msgpack::object_handle>> unpack_value(ByteView data, size_t& offset,
                                                           const UnpackLimits& limits,
                                                           std::string_view what);

// Like unpack_value, but running out of input is an error (datagrams are complete).
Result<msgpack::object_handle> unpack_complete_value(ByteView data, size_t& offset,
                                                     const UnpackLimits& limits,
                                                     std::string_view what);

// Typed readers for one map value; `field` names it in errors.
Result<uint64_t> read_uint(const msgpack::object& o, std::string_view field, uint64_t max);
Result<int64_t> read_int(const msgpack::object& o, std::string_view field);
Result<bool> read_bool(const msgpack::object& o, std::string_view field);
Result<Bytes> read_bytes(const msgpack::object& o, std::string_view field);
Result<std::string> read_string(const msgpack::object& o, std::string_view field);
// The key of a map entry as text, or an error when it is not a string.
Result<std::string_view> read_key(const msgpack::object& o, std::string_view what);

template <typename T>
Status read_uint_into(const msgpack::object& o, std::string_view field, T& out) {
  SHOAL_ASSIGN_OR_RETURN(uint64_t v, read_uint(o, field, std::numeric_limits<T>::max()));
  out = static_cast<T>(v);
  return {};
}

}  // namespace shoal::gossip
