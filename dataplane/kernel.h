// The narrow interface between the overlay logic and the kernel.
//
// Every object lives in a network namespace named by a string: the name of a namespace under
// /run/netns, an absolute path to a namespace file (/proc/PID/ns/net), or "" for the node's own
// namespace (the one the agent runs in, which holds the underlay). The real implementation
// speaks rtnetlink (LibnlKernel); unit tests use an in-memory fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::dataplane {

enum class LinkKind { kOther, kBridge, kVxlan, kVeth };

struct VxlanAttrs {
  uint32_t vni = 0;
  Ipv4 local;
  uint16_t port = 4789;
  bool learning = false;
  bool proxy = true;

  friend bool operator==(const VxlanAttrs&, const VxlanAttrs&) = default;
};

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  LinkKind kind = LinkKind::kOther;
  uint32_t mtu = 0;
  bool up = false;
  int master = 0;  // ifindex of the bridge this link is a port of, 0 if none
  Mac mac;
  std::optional<VxlanAttrs> vxlan;
};

struct VxlanConfig {
  std::string name;
  VxlanAttrs attrs;
  uint32_t mtu = 0;
};

struct VethConfig {
  std::string name;     // the end created in the namespace the call names
  std::string peer_ns;  // where the other end goes
  std::string peer_name;
  uint32_t mtu = 0;
  Mac peer_mac;
};

struct LinkChange {
  std::optional<std::string> master;  // enslave to this bridge
  std::optional<bool> up;
  std::optional<uint32_t> mtu;

  static LinkChange bring_up() { return LinkChange{std::nullopt, true, std::nullopt}; }
  static LinkChange enslave_and_up(std::string bridge) {
    return LinkChange{std::move(bridge), true, std::nullopt};
  }
  static LinkChange set_mtu(uint32_t mtu) { return LinkChange{std::nullopt, std::nullopt, mtu}; }
};

// "vxlan0 in netns shoal-h1-net-app" / "eth0 in the node namespace", for messages.
inline std::string describe_link(const std::string& ns, const std::string& name) {
  return name + (ns.empty() ? " in the node namespace" : " in netns " + ns);
}

class NetKernel {
 public:
  virtual ~NetKernel() = default;

  // Named namespaces; create and delete are idempotent.
  virtual bool netns_exists(const std::string& name) = 0;
  virtual Status netns_create(const std::string& name) = 0;
  virtual Status netns_delete(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> netns_list() = 0;

  virtual Result<std::vector<LinkInfo>> links(const std::string& ns) = 0;
  virtual Result<std::optional<LinkInfo>> link(const std::string& ns, const std::string& name) = 0;
  virtual Status create_bridge(const std::string& ns, const std::string& name, uint32_t mtu) = 0;
  // The device appears in `ns`; its UDP socket stays in the node's namespace, on the underlay.
  virtual Status create_vxlan(const std::string& ns, const VxlanConfig& config) = 0;
  virtual Status create_veth(const std::string& ns, const VethConfig& config) = 0;
  virtual Status delete_link(const std::string& ns, const std::string& name) = 0;
  virtual Status change_link(const std::string& ns, const std::string& name,
                             const LinkChange& change) = 0;

  virtual Result<std::vector<Ipv4Prefix>> addresses(const std::string& ns,
                                                    const std::string& link) = 0;
  virtual Status add_address(const std::string& ns, const std::string& link,
                             Ipv4Prefix address) = 0;
  virtual Status set_default_route(const std::string& ns, const std::string& link,
                                   Ipv4 gateway) = 0;

  // Permanent neighbour (ARP) entry: ip is at mac on link.
  virtual Status set_neighbour(const std::string& ns, const std::string& link, Ipv4 ip,
                               Mac mac) = 0;
  virtual Status delete_neighbour(const std::string& ns, const std::string& link, Ipv4 ip) = 0;
  // Forwarding entry of a VXLAN device itself (NTF_SELF): frames for mac go to VTEP vtep.
  virtual Status set_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) = 0;
  virtual Status delete_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) = 0;

  // The permanent neighbour entries and the VXLAN forwarding entries with a destination.
  virtual Result<std::vector<std::pair<Ipv4, Mac>>> neighbours(const std::string& ns,
                                                               const std::string& link) = 0;
  virtual Result<std::vector<std::pair<Mac, Ipv4>>> fdb_entries(const std::string& ns,
                                                                const std::string& link) = 0;

  // key as in sysctl(8): "net.ipv6.conf.all.disable_ipv6".
  virtual Status set_sysctl(const std::string& ns, const std::string& key,
                            const std::string& value) = 0;
  // The MTU of the node-namespace interface that holds this address.
  virtual Result<uint32_t> mtu_of_address(Ipv4 address) = 0;
};

}  // namespace shoal::dataplane
