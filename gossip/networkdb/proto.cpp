#include "gossip/networkdb/proto.h"

#include <functional>

namespace shoal::gossip::networkdb {

namespace {

// ---- writing ----

class Writer {
 public:
  void varint_field(uint32_t field, uint64_t v) {
    if (v == 0)
      return;
    tag(field, 0);
    varint(v);
  }
  void bytes_field(uint32_t field, ByteView b, bool always = false) {
    if (b.empty() && !always)
      return;
    tag(field, 2);
    varint(b.size());
    out.insert(out.end(), b.begin(), b.end());
  }
  void string_field(uint32_t field, const std::string& s, bool always = false) {
    bytes_field(field, as_bytes(s), always);
  }
  Bytes out;

 private:
  void tag(uint32_t field, uint32_t wire) { varint(field << 3 | wire); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<uint8_t>(v));
  }
};

// ---- reading ----

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;  // wire type 0
  ByteView bytes;       // wire type 2
};

Error proto_error(std::string_view what, std::string detail) {
  return Error{"decode", std::string(what), 0, std::move(detail)};
}

Result<uint64_t> read_varint(ByteView b, size_t& pos, std::string_view what) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= b.size())
      return proto_error(what, "truncated varint");
    const uint8_t byte = b[pos++];
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      return v;
  }
  return proto_error(what, "varint longer than 10 bytes");
}

Status for_each_field(ByteView b, std::string_view what,
                      const std::function<Status(const Field&)>& on_field) {
  size_t pos = 0;
  while (pos < b.size()) {
    SHOAL_ASSIGN_OR_RETURN(uint64_t key, read_varint(b, pos, what));
    Field f;
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire = static_cast<uint32_t>(key & 7);
    if (f.number == 0)
      return proto_error(what, "field number 0");
    switch (f.wire) {
      case 0: {
        SHOAL_ASSIGN_OR_RETURN(f.varint, read_varint(b, pos, what));
        break;
      }
      case 1:
      case 5: {
        const size_t n = f.wire == 1 ? 8 : 4;
        if (b.size() - pos < n)
          return proto_error(what, "truncated fixed-width field");
        pos += n;
        continue;  // no field of ours uses fixed widths: skip
      }
      case 2: {
        SHOAL_ASSIGN_OR_RETURN(uint64_t len, read_varint(b, pos, what));
        if (len > b.size() - pos) {
          return proto_error(what, "field " + std::to_string(f.number) + " length " +
                                       std::to_string(len) + " exceeds the message");
        }
        f.bytes = b.subspan(pos, len);
        pos += len;
        break;
      }
      default:
        return proto_error(what, "unsupported wire type " + std::to_string(f.wire));
    }
    SHOAL_TRY(on_field(f));
  }
  return {};
}

Status expect(const Field& f, uint32_t wire, std::string_view what) {
  if (f.wire != wire) {
    return proto_error(what, "field " + std::to_string(f.number) + " has wire type " +
                                 std::to_string(f.wire) + ", expected " + std::to_string(wire));
  }
  return {};
}

std::string text(const Field& f) {
  return to_string(f.bytes);
}

}  // namespace

Bytes encode(const GossipMessage& m) {
  Writer w;
  w.varint_field(1, static_cast<uint32_t>(m.type));
  w.bytes_field(2, m.data);
  return std::move(w.out);
}

Bytes encode(const NodeEvent& m) {
  Writer w;
  w.varint_field(1, static_cast<uint32_t>(m.type));
  w.varint_field(2, m.ltime);
  w.string_field(3, m.node_name);
  return std::move(w.out);
}

Bytes encode(const NetworkEvent& m) {
  Writer w;
  w.varint_field(1, static_cast<uint32_t>(m.type));
  w.varint_field(2, m.ltime);
  w.string_field(3, m.node_name);
  w.string_field(4, m.network_id);
  return std::move(w.out);
}

Bytes encode(const NetworkPushPull& m) {
  Writer w;
  w.varint_field(1, m.ltime);
  for (const NetworkEntry& e : m.networks) {
    Writer entry;
    entry.string_field(1, e.network_id);
    entry.varint_field(2, e.ltime);
    entry.string_field(3, e.node_name);
    entry.varint_field(4, e.leaving);
    w.bytes_field(2, entry.out, true);
  }
  w.string_field(3, m.node_name);
  return std::move(w.out);
}

Bytes encode(const TableEvent& m) {
  Writer w;
  w.varint_field(1, static_cast<uint32_t>(m.type));
  w.varint_field(2, m.ltime);
  w.string_field(3, m.node_name);
  w.string_field(4, m.network_id);
  w.string_field(5, m.table_name);
  w.string_field(6, m.key);
  w.bytes_field(7, m.value);
  // int32 is sign-extended to 64 bits on the wire.
  w.varint_field(8, static_cast<uint64_t>(static_cast<int64_t>(m.residual_reap_time)));
  return std::move(w.out);
}

Bytes encode(const BulkSyncMessage& m) {
  Writer w;
  w.varint_field(1, m.ltime);
  w.varint_field(2, m.unsolicited);
  w.string_field(3, m.node_name);
  for (const std::string& n : m.networks)
    w.string_field(4, n, true);
  w.bytes_field(5, m.payload);
  return std::move(w.out);
}

Bytes encode(const CompoundMessage& m) {
  Writer w;
  for (const Bytes& part : m.messages) {
    Writer simple;
    simple.bytes_field(1, part);
    w.bytes_field(1, simple.out, true);
  }
  return std::move(w.out);
}

Result<GossipMessage> decode_gossip_message(ByteView b) {
  GossipMessage m;
  SHOAL_TRY(for_each_field(b, "GossipMessage", [&](const Field& f) -> Status {
    if (f.number == 1) {
      SHOAL_TRY(expect(f, 0, "GossipMessage"));
      m.type = static_cast<GossipType>(f.varint);
    } else if (f.number == 2) {
      SHOAL_TRY(expect(f, 2, "GossipMessage"));
      m.data.assign(f.bytes.begin(), f.bytes.end());
    }
    return {};
  }));
  return m;
}

Result<NodeEvent> decode_node_event(ByteView b) {
  NodeEvent m;
  SHOAL_TRY(for_each_field(b, "NodeEvent", [&](const Field& f) -> Status {
    if (f.number == 1) {
      SHOAL_TRY(expect(f, 0, "NodeEvent"));
      m.type = NodeEventType(f.varint);
    }
    if (f.number == 2) {
      SHOAL_TRY(expect(f, 0, "NodeEvent"));
      m.ltime = f.varint;
    }
    if (f.number == 3) {
      SHOAL_TRY(expect(f, 2, "NodeEvent"));
      m.node_name = text(f);
    }
    return {};
  }));
  return m;
}

Result<NetworkEvent> decode_network_event(ByteView b) {
  NetworkEvent m;
  SHOAL_TRY(for_each_field(b, "NetworkEvent", [&](const Field& f) -> Status {
    if (f.number == 1) {
      SHOAL_TRY(expect(f, 0, "NetworkEvent"));
      m.type = NetworkEventType(f.varint);
    }
    if (f.number == 2) {
      SHOAL_TRY(expect(f, 0, "NetworkEvent"));
      m.ltime = f.varint;
    }
    if (f.number == 3) {
      SHOAL_TRY(expect(f, 2, "NetworkEvent"));
      m.node_name = text(f);
    }
    if (f.number == 4) {
      SHOAL_TRY(expect(f, 2, "NetworkEvent"));
      m.network_id = text(f);
    }
    return {};
  }));
  return m;
}

Result<NetworkPushPull> decode_network_push_pull(ByteView b) {
  NetworkPushPull m;
  SHOAL_TRY(for_each_field(b, "NetworkPushPull", [&](const Field& f) -> Status {
    if (f.number == 1) {
      SHOAL_TRY(expect(f, 0, "NetworkPushPull"));
      m.ltime = f.varint;
    }
    if (f.number == 3) {
      SHOAL_TRY(expect(f, 2, "NetworkPushPull"));
      m.node_name = text(f);
    }
    if (f.number == 2) {
      SHOAL_TRY(expect(f, 2, "NetworkPushPull"));
      NetworkEntry e;
      SHOAL_TRY(for_each_field(f.bytes, "NetworkEntry", [&](const Field& g) -> Status {
        if (g.number == 1) {
          SHOAL_TRY(expect(g, 2, "NetworkEntry"));
          e.network_id = text(g);
        }
        if (g.number == 2) {
          SHOAL_TRY(expect(g, 0, "NetworkEntry"));
          e.ltime = g.varint;
        }
        if (g.number == 3) {
          SHOAL_TRY(expect(g, 2, "NetworkEntry"));
          e.node_name = text(g);
        }
        if (g.number == 4) {
          SHOAL_TRY(expect(g, 0, "NetworkEntry"));
          e.leaving = g.varint != 0;
        }
        return {};
      }));
      m.networks.push_back(std::move(e));
    }
    return {};
  }));
  return m;
}

Result<TableEvent> decode_table_event(ByteView b) {
  TableEvent m;
  SHOAL_TRY(for_each_field(b, "TableEvent", [&](const Field& f) -> Status {
    switch (f.number) {
      case 1:
        SHOAL_TRY(expect(f, 0, "TableEvent"));
        m.type = TableEventType(f.varint);
        break;
      case 2:
        SHOAL_TRY(expect(f, 0, "TableEvent"));
        m.ltime = f.varint;
        break;
      case 3:
        SHOAL_TRY(expect(f, 2, "TableEvent"));
        m.node_name = text(f);
        break;
      case 4:
        SHOAL_TRY(expect(f, 2, "TableEvent"));
        m.network_id = text(f);
        break;
      case 5:
        SHOAL_TRY(expect(f, 2, "TableEvent"));
        m.table_name = text(f);
        break;
      case 6:
        SHOAL_TRY(expect(f, 2, "TableEvent"));
        m.key = text(f);
        break;
      case 7:
        SHOAL_TRY(expect(f, 2, "TableEvent"));
        m.value.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 8:
        SHOAL_TRY(expect(f, 0, "TableEvent"));
        m.residual_reap_time = static_cast<int32_t>(static_cast<int64_t>(f.varint));
        break;
      default:
        break;
    }
    return {};
  }));
  return m;
}

Result<BulkSyncMessage> decode_bulk_sync(ByteView b) {
  BulkSyncMessage m;
  SHOAL_TRY(for_each_field(b, "BulkSyncMessage", [&](const Field& f) -> Status {
    if (f.number == 1) {
      SHOAL_TRY(expect(f, 0, "BulkSyncMessage"));
      m.ltime = f.varint;
    }
    if (f.number == 2) {
      SHOAL_TRY(expect(f, 0, "BulkSyncMessage"));
      m.unsolicited = f.varint != 0;
    }
    if (f.number == 3) {
      SHOAL_TRY(expect(f, 2, "BulkSyncMessage"));
      m.node_name = text(f);
    }
    if (f.number == 4) {
      SHOAL_TRY(expect(f, 2, "BulkSyncMessage"));
      m.networks.push_back(text(f));
    }
    if (f.number == 5) {
      SHOAL_TRY(expect(f, 2, "BulkSyncMessage"));
      m.payload.assign(f.bytes.begin(), f.bytes.end());
    }
    return {};
  }));
  return m;
}

Result<CompoundMessage> decode_compound(ByteView b, size_t max_messages) {
  CompoundMessage m;
  SHOAL_TRY(for_each_field(b, "CompoundMessage", [&](const Field& f) -> Status {
    if (f.number != 1)
      return {};
    SHOAL_TRY(expect(f, 2, "CompoundMessage"));
    if (m.messages.size() >= max_messages) {
      return proto_error("CompoundMessage", "more than " + std::to_string(max_messages) + " parts");
    }
    Bytes payload;
    SHOAL_TRY(for_each_field(f.bytes, "SimpleMessage", [&](const Field& g) -> Status {
      if (g.number == 1) {
        SHOAL_TRY(expect(g, 2, "SimpleMessage"));
        payload.assign(g.bytes.begin(), g.bytes.end());
      }
      return {};
    }));
    m.messages.push_back(std::move(payload));
    return {};
  }));
  return m;
}

}  // namespace shoal::gossip::networkdb
