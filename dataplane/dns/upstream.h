// The node's upstream resolvers: where names that are not ours go.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::dataplane::dns {

struct UpstreamServer {
  Ipv4 ip;
  uint16_t port = 53;

  // "IP" or "IP:PORT".
  static Result<UpstreamServer> parse(std::string_view text);
  std::string str() const;

  friend bool operator==(const UpstreamServer&, const UpstreamServer&) = default;
};

// The IPv4 nameservers of a resolv.conf, parsed by ldns, in file order. IPv6 ones are skipped
// (no IPv6 in the overlay), and so is 127.0.0.11: forwarding to ourselves would loop.
Result<std::vector<UpstreamServer>> upstreams_from_resolv_conf(const std::string& path);

}  // namespace shoal::dataplane::dns
