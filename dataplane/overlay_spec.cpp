#include "dataplane/overlay_spec.h"

#include <cstdio>

namespace shoal::dataplane {
namespace {

bool id_char(char c, bool first) {
  bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum || (!first && (c == '_' || c == '.' || c == '-'));
}

}  // namespace

Status validate_node(const NodeConfig& node) {
  if (node.tag.empty() || node.tag.size() > 24) {
    return invalid_argument("node tag '" + node.tag + "'", "must be 1 to 24 characters");
  }
  for (char c : node.tag) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return invalid_argument("node tag '" + node.tag + "'", "only a-z and 0-9 are allowed");
    }
  }
  if (node.underlay_ip == Ipv4()) {
    return invalid_argument("node " + node.tag, "the underlay address is not set");
  }
  return {};
}

Status validate_id(const std::string& what, const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return invalid_argument(what + " id '" + id + "'", "must be 1 to 64 characters");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!id_char(id[i], i == 0)) {
      return invalid_argument(what + " id '" + id + "'",
                              "only letters, digits and _ . - (not first) are allowed");
    }
  }
  return {};
}

uint32_t overlay_mtu(const NetworkSpec& spec, uint32_t underlay_mtu) {
  if (spec.mtu) {
    return *spec.mtu;
  }
  return underlay_mtu > kVxlanOverhead ? underlay_mtu - kVxlanOverhead : 0;
}

Status validate_network(const NetworkSpec& spec, uint32_t underlay_mtu) {
  SHOAL_TRY(validate_id("network", spec.id));
  const std::string what = "network " + spec.id;
  if (spec.vni < 1 || spec.vni > kMaxVni) {
    return invalid_argument(
        what, "VNI " + std::to_string(spec.vni) + " is outside 1.." + std::to_string(kMaxVni));
  }
  if (spec.subnet.length() < 8 || spec.subnet.length() > 30) {
    return invalid_argument(
        what, "subnet " + spec.subnet.str() + " must have a prefix length from /8 to /30");
  }
  if (spec.subnet.addr() != spec.subnet.network()) {
    return invalid_argument(
        what, "subnet " + spec.subnet.str() + " has host bits set (use " +
                  Ipv4Prefix(spec.subnet.network(), spec.subnet.length()).str() + ")");
  }
  if (!spec.subnet.is_host_address(spec.gateway)) {
    return invalid_argument(what, "gateway " + spec.gateway.str() +
                                      " is not a host address inside " + spec.subnet.str());
  }
  const uint32_t mtu = overlay_mtu(spec, underlay_mtu);
  const uint32_t max_mtu = underlay_mtu > kVxlanOverhead ? underlay_mtu - kVxlanOverhead : 0;
  if (mtu < kMinMtu || mtu > max_mtu) {
    return invalid_argument(
        what, "MTU " + std::to_string(mtu) + " must be from " + std::to_string(kMinMtu) + " to " +
                  std::to_string(max_mtu) + " (underlay MTU " + std::to_string(underlay_mtu) +
                  " minus " + std::to_string(kVxlanOverhead) + " bytes of VXLAN encapsulation)");
  }
  return {};
}

Status validate_endpoint(const EndpointSpec& endpoint, const NetworkSpec& network) {
  SHOAL_TRY(validate_id("endpoint", endpoint.id));
  const std::string what = "endpoint " + endpoint.id;
  if (endpoint.ifname.empty() || endpoint.ifname.size() > 15 ||
      endpoint.ifname.find_first_of("/ :") != std::string::npos) {
    return invalid_argument(what, "interface name '" + endpoint.ifname +
                                      "' must be 1 to 15 characters without '/', ':' or spaces");
  }
  if (!network.subnet.is_host_address(endpoint.ip) || endpoint.ip == network.gateway) {
    return invalid_argument(what, "address " + endpoint.ip.str() +
                                      " is not a free host address of " + network.subnet.str() +
                                      " (gateway " + network.gateway.str() + ")");
  }
  return {};
}

std::string node_prefix(const std::string& tag) {
  return "shoal-" + tag + "-";
}

std::string sandbox_netns(const std::string& tag, const std::string& network_id) {
  return node_prefix(tag) + "net-" + network_id;
}

std::string endpoint_netns(const std::string& tag, const std::string& endpoint_id) {
  return node_prefix(tag) + "ep-" + endpoint_id;
}

std::string sandbox_veth(const std::string& endpoint_id) {
  uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : endpoint_id) {
    hash = (hash ^ c) * 16777619u;
  }
  char name[16];
  std::snprintf(name, sizeof(name), "veth%08x", hash);
  return name;
}

}  // namespace shoal::dataplane
