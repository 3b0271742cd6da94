// IPVS requests as plain values, and their generic-netlink encoding (linux/ip_vs.h). Kept apart
// from the socket so that the encoding is tested byte for byte without a kernel.
#pragma once

#include <netlink/msg.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::ipvs {

enum class Command : uint8_t {
  kNewService,  // fwmark, scheduler
  kDelService,  // fwmark
  kNewDest,     // fwmark, dest, dest_port, weight
  kSetDest,     // fwmark, dest, dest_port, weight
  kDelDest,     // fwmark, dest, dest_port
  kSetConfig,   // timeouts (seconds; 0 leaves a timeout unchanged)
  kGetDests,    // fwmark: a dump of the service's destinations with their connection counts
};

struct Request {
  Command command = Command::kNewService;
  uint32_t fwmark = 0;
  std::string scheduler;
  Ipv4 dest;
  uint16_t dest_port = 0;  // 0: the port the client asked for (fwmark services only)
  uint32_t weight = 0;
  uint32_t tcp_timeout = 0;
  uint32_t tcp_fin_timeout = 0;
  uint32_t udp_timeout = 0;

  friend bool operator==(const Request&, const Request&) = default;
};

std::string describe(const Request& request);

inline Request service_request(Command command, uint32_t fwmark, std::string scheduler = {}) {
  Request r;
  r.command = command;
  r.fwmark = fwmark;
  r.scheduler = std::move(scheduler);
  return r;
}
inline Request dest_request(Command command, uint32_t fwmark, Ipv4 dest, uint16_t port,
                            uint32_t weight = 0) {
  Request r;
  r.command = command;
  r.fwmark = fwmark;
  r.dest = dest;
  r.dest_port = port;
  r.weight = weight;
  return r;
}
inline Request config_request(uint32_t tcp, uint32_t tcp_fin, uint32_t udp) {
  Request r;
  r.command = Command::kSetConfig;
  r.tcp_timeout = tcp;
  r.tcp_fin_timeout = tcp_fin;
  r.udp_timeout = udp;
  return r;
}

struct NlMsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using NlMsg = std::unique_ptr<nl_msg, NlMsgDeleter>;

// One destination of a kGetDests dump.
struct DestStats {
  Ipv4 ip;
  uint16_t port = 0;
  uint32_t weight = 0;
  uint32_t active = 0;    // established connections
  uint32_t inactive = 0;  // closing or idle ones
};
// Decodes one message of a kGetDests dump.
Result<DestStats> decode_dest(nlmsghdr* hdr);

// The request as a generic-netlink message for the IPVS family (its resolved id), asking for an
// acknowledgement. Every service is IPv4, keyed by firewall mark; every destination is NAT.
Result<NlMsg> encode(const Request& request, int family_id);

}  // namespace shoal::ipvs
