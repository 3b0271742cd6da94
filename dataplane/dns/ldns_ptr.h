// Owning handles for ldns objects, so that every packet, record and buffer ldns allocates is freed
// exactly once on every path (including the early returns of a rejected packet).
#pragma once

// ldns/common.h defines bool, true and false as macros (true is the int 1) unless stdbool.h was
// seen first; in C++ that breaks std headers (optional's operator<=>). Include ldns only here.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
// clang-format off
#include <ldns/ldns.h>
// clang-format on

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

namespace shoal::dataplane::dns {

struct LdnsPacketFree {
  void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
struct LdnsRrFree {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct LdnsRdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct LdnsResolverFree {
  void operator()(ldns_resolver* resolver) const { ldns_resolver_deep_free(resolver); }
};
struct LdnsMallocFree {
  void operator()(void* memory) const { std::free(memory); }  // ldns allocates with malloc
};

using PacketPtr = std::unique_ptr<ldns_pkt, LdnsPacketFree>;
using RrPtr = std::unique_ptr<ldns_rr, LdnsRrFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsRdfFree>;
using ResolverPtr = std::unique_ptr<ldns_resolver, LdnsResolverFree>;

// Parses wire bytes into a packet; null when ldns rejects them.
inline PacketPtr packet_from_wire(std::span<const uint8_t> wire) {
  ldns_pkt* packet = nullptr;
  if (ldns_wire2pkt(&packet, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    ldns_pkt_free(packet);
    return nullptr;
  }
  return PacketPtr(packet);
}

// Serialises a packet (with name compression); empty when ldns cannot.
inline std::vector<uint8_t> packet_to_wire(const ldns_pkt& packet) {
  uint8_t* raw = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&raw, &packet, &size) != LDNS_STATUS_OK) {
    std::free(raw);
    return {};
  }
  std::unique_ptr<uint8_t, LdnsMallocFree> owned(raw);
  return std::vector<uint8_t>(raw, raw + size);
}

}  // namespace shoal::dataplane::dns
