// The overlay networks of one node: what the agent calls to make its tasks reachable across hosts.
//
// Each network gets a sandbox namespace (shoal-<tag>-net-<id>) holding a bridge br0 with the
// gateway address and a VXLAN device vxlan0 (UDP 4789, local = the node's underlay address,
// learning off, ARP proxy on). Endpoints hang off br0 through a veth; remote endpoints are
// programmed as permanent neighbour + VXLAN forwarding entries, so no multicast or flooding
// crosses the underlay.
//
// Every call converges: it checks what the kernel has and changes only what differs, so calling
// it twice changes nothing, and it repairs a half-made state left by a killed agent. A failed
// attach leaves nothing behind. Not thread-safe: one owner drives it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "dataplane/kernel.h"
#include "dataplane/overlay_spec.h"
#include "dataplane/peer_table.h"

namespace shoal::dataplane {

struct SweepReport {
  std::vector<std::string> removed;  // namespace names
};

class Overlay {
 public:
  // Checks the node config and learns the underlay MTU when the config leaves it unset.
  static Result<Overlay> create(NodeConfig node, NetKernel& kernel);

  Status ensure(const NetworkSpec& spec);
  Status remove(const std::string& network_id);

  Result<Endpoint> attach(const EndpointSpec& spec);
  // Removes exactly what attach made: the veth pair, and the namespace if attach created it.
  Status detach(const std::string& network_id, const std::string& endpoint_id);

  // Peers whose VTEP is this node are ignored: the local bridge already reaches them.
  Status add_peer(const PeerSpec& peer);
  Status remove_peer(const PeerSpec& peer);

  // Makes the network's peers exactly `peers`, whatever the kernel held before (a restart, a
  // missed event): extra entries go, missing ones are written, each peer counts one reference.
  Status sync_peers(const std::string& network_id, const std::vector<PeerSpec>& peers);

  // Deletes every namespace with this node's prefix whose network or endpoint is not desired.
  Result<SweepReport> sweep(const std::set<std::string>& networks,
                            const std::set<std::string>& endpoints);

  const NodeConfig& node() const { return node_; }
  uint32_t underlay_mtu() const { return *node_.underlay_mtu; }
  // The MTU a network has on this node, when it is ensured.
  std::optional<uint32_t> mtu_of(const std::string& network_id) const;

 private:
  struct Network {
    NetworkSpec spec;
    uint32_t mtu = 0;
    PeerTable peers;
  };

  Overlay(NodeConfig node, NetKernel& kernel) : node_(std::move(node)), kernel_(&kernel) {}

  Status remove_sandbox(const std::string& ns);
  Status check_conflicts(const NetworkSpec& spec) const;
  Status ensure_bridge(const std::string& ns, const NetworkSpec& spec, uint32_t mtu);
  Status ensure_address(const std::string& ns, const std::string& link, Ipv4Prefix address);
  Status ensure_vxlan(const std::string& ns, const NetworkSpec& spec, uint32_t mtu);
  Status create_vxlan_clearing_stale(const std::string& ns, const VxlanConfig& config);
  Status delete_stale_vxlans(const std::string& keep_ns, uint32_t vni);
  Result<bool> endpoint_in_place(const EndpointSpec& spec, const std::string& ns, const Mac& mac,
                                 const Network& network);
  Status build_endpoint(const EndpointSpec& spec, const std::string& ns, const Mac& mac,
                        const Network& network);
  Status apply(const std::string& network_id, const std::vector<PeerAction>& actions);
  Result<Network*> find(const std::string& network_id);

  NodeConfig node_;
  NetKernel* kernel_;
  std::map<std::string, Network> networks_;
};

}  // namespace shoal::dataplane
