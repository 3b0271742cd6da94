// What the agent asks of the overlay dataplane, the checks on it, and the node-scoped names of
// the kernel objects that realise it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::dataplane {

inline constexpr uint32_t kMaxVni = 16777215;
inline constexpr uint32_t kVxlanOverhead = 50;  // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
inline constexpr uint32_t kMinMtu = 576;        // smallest datagram every IPv4 host must take
inline constexpr uint16_t kVxlanPort = 4789;
inline constexpr const char* kBridgeName = "br0";
inline constexpr const char* kVxlanName = "vxlan0";

struct NodeConfig {
  std::string tag;  // short node-scoped prefix for global names: [a-z0-9]{1,24}
  Ipv4 underlay_ip;
  std::optional<uint32_t> underlay_mtu;  // read from the interface holding underlay_ip when unset
};

struct NetworkSpec {
  std::string id;  // [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
  uint32_t vni = 0;
  Ipv4Prefix subnet;
  Ipv4 gateway;
  std::optional<uint32_t> mtu;  // underlay MTU - 50 when unset
  // The gateway address lives on the sandbox bridge, except on the ingress network, where the
  // node's own endpoint holds it so that tasks' replies reach the node (source-preserving mesh).
  bool gateway_on_bridge = true;

  friend bool operator==(const NetworkSpec&, const NetworkSpec&) = default;
};

struct EndpointSpec {
  std::string network_id;
  std::string id;               // same character rules as a network id
  std::string netns;            // named netns or /path; empty: a new namespace for the endpoint
  std::string ifname = "eth0";  // its name inside that namespace
  Ipv4 ip;
  std::optional<Mac> mac;      // derived from ip (02:42:a.b.c.d) when unset
  bool default_route = true;   // via the network's gateway
  bool holds_gateway = false;  // also give this interface the network's gateway address
};

struct Endpoint {
  std::string netns;
  std::string ifname;
  Ipv4Prefix address;
  Mac mac;
};

struct PeerSpec {
  std::string network_id;
  Ipv4 ip;
  Mac mac;
  Ipv4 vtep;  // underlay address of the node that hosts the endpoint
};

Status validate_node(const NodeConfig& node);
Status validate_id(const std::string& what, const std::string& id);
// Checks a spec on its own; `underlay_mtu` bounds an explicit MTU.
Status validate_network(const NetworkSpec& spec, uint32_t underlay_mtu);
// The overlay MTU a spec gets on an underlay with this MTU.
uint32_t overlay_mtu(const NetworkSpec& spec, uint32_t underlay_mtu);
Status validate_endpoint(const EndpointSpec& endpoint, const NetworkSpec& network);

// Names. Every global name carries "shoal-<tag>-", so agents sharing a kernel never collide and a
// sweep can tell its own objects from anyone else's.
std::string node_prefix(const std::string& tag);
std::string sandbox_netns(const std::string& tag, const std::string& network_id);
std::string endpoint_netns(const std::string& tag, const std::string& endpoint_id);
// The sandbox end of an endpoint's veth: fixed-length and derived from the endpoint id alone, so
// detach works after a restart without any saved state.
std::string sandbox_veth(const std::string& endpoint_id);

}  // namespace shoal::dataplane
