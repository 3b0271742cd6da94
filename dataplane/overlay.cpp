#include "dataplane/overlay.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace shoal::dataplane {
namespace {

// A namespace that was just deleted is torn down asynchronously by the kernel, and its VXLAN
// device keeps the VNI until then; give it this long before calling the VNI taken.
constexpr auto kVniReleaseWait = std::chrono::seconds(3);
constexpr auto kVniRetryStep = std::chrono::milliseconds(50);

VxlanConfig vxlan_config(const NodeConfig& node, const NetworkSpec& spec, uint32_t mtu) {
  VxlanConfig config;
  config.name = kVxlanName;
  config.attrs = VxlanAttrs{spec.vni, node.underlay_ip, kVxlanPort, false, true};
  config.mtu = mtu;
  return config;
}

Ipv4Prefix gateway_address(const NetworkSpec& spec) {
  return Ipv4Prefix(spec.gateway, spec.subnet.length());
}

}  // namespace

Result<Overlay> Overlay::create(NodeConfig node, NetKernel& kernel) {
  SHOAL_TRY(validate_node(node));
  if (!node.underlay_mtu) {
    SHOAL_ASSIGN_OR_RETURN(uint32_t mtu, kernel.mtu_of_address(node.underlay_ip));
    node.underlay_mtu = mtu;
  }
  return Overlay(std::move(node), kernel);
}

std::optional<uint32_t> Overlay::mtu_of(const std::string& network_id) const {
  auto it = networks_.find(network_id);
  return it == networks_.end() ? std::nullopt : std::optional<uint32_t>(it->second.mtu);
}

Status Overlay::check_conflicts(const NetworkSpec& spec) const {
  for (const auto& [id, other] : networks_) {
    if (id == spec.id) {
      if (!(other.spec == spec)) {
        return invalid_argument("network " + spec.id,
                                "already set up on this node with a different spec; remove it "
                                "first");
      }
      continue;
    }
    if (other.spec.vni == spec.vni) {
      return invalid_argument("network " + spec.id,
                              "VNI " + std::to_string(spec.vni) + " is used by network " + id);
    }
    if (other.spec.subnet.overlaps(spec.subnet)) {
      return invalid_argument("network " + spec.id, "subnet " + spec.subnet.str() + " overlaps " +
                                                        other.spec.subnet.str() + " of network " +
                                                        id);
    }
  }
  return {};
}

Status Overlay::ensure(const NetworkSpec& spec) {
  SHOAL_TRY(validate_network(spec, underlay_mtu()));
  SHOAL_TRY(check_conflicts(spec));
  const uint32_t mtu = overlay_mtu(spec, underlay_mtu());
  const std::string ns = sandbox_netns(node_.tag, spec.id);

  SHOAL_TRY(kernel_->netns_create(ns));
  // No IPv6 inside the sandbox: its router solicitations and MLD reports would only be noise.
  SHOAL_TRY(kernel_->set_sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1"));
  SHOAL_TRY(kernel_->set_sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1"));
  SHOAL_TRY(ensure_bridge(ns, spec, mtu));
  SHOAL_TRY(ensure_vxlan(ns, spec, mtu));

  auto [it, inserted] = networks_.try_emplace(spec.id);
  it->second.spec = spec;
  it->second.mtu = mtu;
  return {};
}

Status Overlay::ensure_bridge(const std::string& ns, const NetworkSpec& spec, uint32_t mtu) {
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> bridge, kernel_->link(ns, kBridgeName));
  if (bridge && bridge->kind != LinkKind::kBridge) {
    SHOAL_TRY(kernel_->delete_link(ns, kBridgeName));
    bridge.reset();
  }
  if (!bridge) {
    SHOAL_TRY(kernel_->create_bridge(ns, kBridgeName, mtu));
  } else if (bridge->mtu != mtu) {
    SHOAL_TRY(kernel_->change_link(ns, kBridgeName, LinkChange::set_mtu(mtu)));
  }
  if (spec.gateway_on_bridge) {
    SHOAL_TRY(ensure_address(ns, kBridgeName, gateway_address(spec)));
  }
  if (!bridge || !bridge->up) {
    SHOAL_TRY(kernel_->change_link(ns, kBridgeName, LinkChange::bring_up()));
  }
  return {};
}

Status Overlay::ensure_address(const std::string& ns, const std::string& link, Ipv4Prefix address) {
  SHOAL_ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> addresses, kernel_->addresses(ns, link));
  if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
    SHOAL_TRY(kernel_->add_address(ns, link, address));
  }
  return {};
}

Status Overlay::ensure_vxlan(const std::string& ns, const NetworkSpec& spec, uint32_t mtu) {
  const VxlanConfig wanted = vxlan_config(node_, spec, mtu);
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> vxlan, kernel_->link(ns, kVxlanName));
  // The VXLAN attributes cannot be changed in place: a device that differs is replaced.
  if (vxlan &&
      (vxlan->kind != LinkKind::kVxlan || !vxlan->vxlan || !(*vxlan->vxlan == wanted.attrs))) {
    SHOAL_TRY(kernel_->delete_link(ns, kVxlanName));
    vxlan.reset();
  }
  if (!vxlan) {
    SHOAL_TRY(create_vxlan_clearing_stale(ns, wanted));
    SHOAL_ASSIGN_OR_RETURN(vxlan, kernel_->link(ns, kVxlanName));
    if (!vxlan) {
      return sys_error("find vxlan", describe_link(ns, kVxlanName), ENODEV, "gone after create");
    }
  } else if (vxlan->mtu != mtu) {
    SHOAL_TRY(kernel_->change_link(ns, kVxlanName, LinkChange::set_mtu(mtu)));
  }
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> bridge, kernel_->link(ns, kBridgeName));
  if (!bridge || vxlan->master != bridge->ifindex || !vxlan->up) {
    SHOAL_TRY(kernel_->change_link(ns, kVxlanName, LinkChange::enslave_and_up(kBridgeName)));
  }
  return {};
}

Status Overlay::create_vxlan_clearing_stale(const std::string& ns, const VxlanConfig& config) {
  Status created = kernel_->create_vxlan(ns, config);
  if (created.ok() || created.error().errnum != EEXIST) {
    return created;
  }
  // The VNI is held by a device a killed agent left behind, or by a namespace still dying.
  SHOAL_TRY(delete_stale_vxlans(ns, config.attrs.vni));
  const auto deadline = std::chrono::steady_clock::now() + kVniReleaseWait;
  while (true) {
    created = kernel_->create_vxlan(ns, config);
    if (created.ok() || created.error().errnum != EEXIST ||
        std::chrono::steady_clock::now() >= deadline) {
      return created;
    }
    std::this_thread::sleep_for(kVniRetryStep);
  }
}

Status Overlay::delete_stale_vxlans(const std::string& keep_ns, uint32_t vni) {
  std::vector<std::string> places{""};
  SHOAL_ASSIGN_OR_RETURN(std::vector<std::string> names, kernel_->netns_list());
  for (const std::string& name : names) {
    if (name.starts_with(node_prefix(node_.tag)) && name != keep_ns) {
      places.push_back(name);
    }
  }
  for (const std::string& place : places) {
    SHOAL_ASSIGN_OR_RETURN(std::vector<LinkInfo> links, kernel_->links(place));
    for (const LinkInfo& link : links) {
      if (link.vxlan && link.vxlan->vni == vni && link.vxlan->local == node_.underlay_ip) {
        SHOAL_TRY(kernel_->delete_link(place, link.name));
      }
    }
  }
  return {};
}

Status Overlay::remove(const std::string& network_id) {
  SHOAL_TRY(validate_id("network", network_id));
  SHOAL_TRY(remove_sandbox(sandbox_netns(node_.tag, network_id)));
  networks_.erase(network_id);
  return {};
}

Status Overlay::remove_sandbox(const std::string& ns) {
  if (!kernel_->netns_exists(ns)) {
    return {};
  }
  // The VXLAN device goes first and synchronously, so its VNI is free at once rather than when
  // the kernel gets round to destroying the namespace.
  SHOAL_TRY(kernel_->delete_link(ns, kVxlanName));
  return kernel_->netns_delete(ns);
}

Result<Overlay::Network*> Overlay::find(const std::string& network_id) {
  auto it = networks_.find(network_id);
  if (it == networks_.end()) {
    return invalid_argument("network " + network_id,
                            "is not set up on this node (ensure it first)");
  }
  return &it->second;
}

Result<Endpoint> Overlay::attach(const EndpointSpec& spec) {
  SHOAL_ASSIGN_OR_RETURN(Network * network, find(spec.network_id));
  SHOAL_TRY(validate_endpoint(spec, network->spec));
  const Mac mac = spec.mac.value_or(Mac::from_ipv4(spec.ip));
  const bool own_ns = spec.netns.empty();
  const std::string ns = own_ns ? endpoint_netns(node_.tag, spec.id) : spec.netns;
  const Endpoint endpoint{ns, spec.ifname, Ipv4Prefix(spec.ip, network->spec.subnet.length()), mac};

  const bool ns_existed = kernel_->netns_exists(ns) || ns.starts_with('/');
  if (!own_ns && !ns_existed) {
    return invalid_argument("endpoint " + spec.id, "namespace " + ns + " does not exist");
  }
  if (!ns_existed) {
    SHOAL_TRY(kernel_->netns_create(ns));
  }
  SHOAL_ASSIGN_OR_RETURN(bool in_place, endpoint_in_place(spec, ns, mac, *network));
  if (in_place) {
    return endpoint;
  }
  Status built = build_endpoint(spec, ns, mac, *network);
  if (!built.ok()) {
    // Leave nothing half-made: the veth goes, and the namespace if this call created it.
    (void)kernel_->delete_link(sandbox_netns(node_.tag, spec.network_id), sandbox_veth(spec.id));
    if (!ns_existed) {
      (void)kernel_->netns_delete(ns);
    }
    return std::move(built).error();
  }
  return endpoint;
}

Result<bool> Overlay::endpoint_in_place(const EndpointSpec& spec, const std::string& ns,
                                        const Mac& mac, const Network& network) {
  const std::string sandbox = sandbox_netns(node_.tag, spec.network_id);
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> outer,
                         kernel_->link(sandbox, sandbox_veth(spec.id)));
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> inner, kernel_->link(ns, spec.ifname));
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> bridge, kernel_->link(sandbox, kBridgeName));
  if (!outer || !inner || !bridge || inner->kind != LinkKind::kVeth || inner->mac != mac ||
      !inner->up || !outer->up || outer->master != bridge->ifindex || inner->mtu != network.mtu) {
    return false;
  }
  SHOAL_ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> addresses, kernel_->addresses(ns, spec.ifname));
  auto has = [&](Ipv4 ip) {
    return std::find(addresses.begin(), addresses.end(),
                     Ipv4Prefix(ip, network.spec.subnet.length())) != addresses.end();
  };
  return has(spec.ip) && (!spec.holds_gateway || has(network.spec.gateway));
}

Status Overlay::build_endpoint(const EndpointSpec& spec, const std::string& ns, const Mac& mac,
                               const Network& network) {
  const std::string sandbox = sandbox_netns(node_.tag, spec.network_id);
  const std::string outer = sandbox_veth(spec.id);
  // A leftover pair from an earlier attempt goes first; deleting one end removes both.
  SHOAL_TRY(kernel_->delete_link(sandbox, outer));
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> clash, kernel_->link(ns, spec.ifname));
  if (clash) {
    return sys_error("attach endpoint " + spec.id, describe_link(ns, spec.ifname), EEXIST,
                     "another interface already has this name");
  }
  SHOAL_TRY(kernel_->create_veth(sandbox, VethConfig{outer, ns, spec.ifname, network.mtu, mac}));
  SHOAL_TRY(kernel_->change_link(sandbox, outer, LinkChange::enslave_and_up(kBridgeName)));
  SHOAL_TRY(kernel_->change_link(ns, "lo", LinkChange::bring_up()));
  SHOAL_TRY(
      kernel_->add_address(ns, spec.ifname, Ipv4Prefix(spec.ip, network.spec.subnet.length())));
  if (spec.holds_gateway) {
    SHOAL_TRY(kernel_->add_address(ns, spec.ifname, gateway_address(network.spec)));
  }
  SHOAL_TRY(kernel_->change_link(ns, spec.ifname, LinkChange::bring_up()));
  if (spec.default_route) {
    SHOAL_TRY(kernel_->set_default_route(ns, spec.ifname, network.spec.gateway));
  }
  return {};
}

Status Overlay::detach(const std::string& network_id, const std::string& endpoint_id) {
  SHOAL_TRY(validate_id("network", network_id));
  SHOAL_TRY(validate_id("endpoint", endpoint_id));
  const std::string sandbox = sandbox_netns(node_.tag, network_id);
  if (kernel_->netns_exists(sandbox)) {
    SHOAL_TRY(kernel_->delete_link(sandbox, sandbox_veth(endpoint_id)));
  }
  const std::string own_ns = endpoint_netns(node_.tag, endpoint_id);
  if (kernel_->netns_exists(own_ns)) {
    SHOAL_TRY(kernel_->netns_delete(own_ns));
  }
  return {};
}

Status Overlay::apply(const std::string& network_id, const std::vector<PeerAction>& actions) {
  const std::string ns = sandbox_netns(node_.tag, network_id);
  for (const PeerAction& action : actions) {
    Status done = std::visit(
        [&](const auto& a) -> Status {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, SetNeighbour>) {
            return kernel_->set_neighbour(ns, kVxlanName, a.ip, a.mac);
          } else if constexpr (std::is_same_v<A, DeleteNeighbour>) {
            return kernel_->delete_neighbour(ns, kVxlanName, a.ip);
          } else if constexpr (std::is_same_v<A, SetFdb>) {
            return kernel_->set_fdb(ns, kVxlanName, a.mac, a.vtep);
          } else {
            return kernel_->delete_fdb(ns, kVxlanName, a.mac, a.vtep);
          }
        },
        action);
    SHOAL_TRY(done);
  }
  return {};
}

Status Overlay::add_peer(const PeerSpec& peer) {
  SHOAL_ASSIGN_OR_RETURN(Network * network, find(peer.network_id));
  if (peer.vtep == node_.underlay_ip) {
    return {};
  }
  const Peer key{peer.ip, peer.mac, peer.vtep};
  std::vector<PeerAction> actions = network->peers.add(key);
  Status applied = apply(peer.network_id, actions);
  if (!applied.ok()) {
    // Undo what was written, best effort, so the books and the kernel agree on "not added".
    (void)apply(peer.network_id, network->peers.remove(key));
  }
  return applied;
}

Status Overlay::remove_peer(const PeerSpec& peer) {
  SHOAL_ASSIGN_OR_RETURN(Network * network, find(peer.network_id));
  if (peer.vtep == node_.underlay_ip) {
    return {};
  }
  return apply(peer.network_id, network->peers.remove(Peer{peer.ip, peer.mac, peer.vtep}));
}

Status Overlay::sync_peers(const std::string& network_id, const std::vector<PeerSpec>& peers) {
  SHOAL_ASSIGN_OR_RETURN(Network * network, find(network_id));
  const std::string ns = sandbox_netns(node_.tag, network_id);
  PeerTable table;
  std::vector<PeerAction> writes;
  for (const PeerSpec& peer : peers) {
    if (peer.network_id != network_id) {
      return invalid_argument("peer " + peer.ip.str(),
                              "belongs to network " + peer.network_id + ", not " + network_id);
    }
    if (peer.vtep == node_.underlay_ip) {
      continue;
    }
    auto added = table.add(Peer{peer.ip, peer.mac, peer.vtep});
    writes.insert(writes.end(), added.begin(), added.end());
  }
  // What the table programs last for each IP and MAC is what the kernel must end up with.
  std::map<Ipv4, Mac> final_neigh;
  std::map<Mac, Ipv4> final_fdb;
  for (const PeerAction& action : writes) {
    if (const auto* n = std::get_if<SetNeighbour>(&action))
      final_neigh[n->ip] = n->mac;
    if (const auto* f = std::get_if<SetFdb>(&action))
      final_fdb[f->mac] = f->vtep;
  }
  SHOAL_ASSIGN_OR_RETURN(auto current_neigh, kernel_->neighbours(ns, kVxlanName));
  SHOAL_ASSIGN_OR_RETURN(auto current_fdb, kernel_->fdb_entries(ns, kVxlanName));
  std::vector<PeerAction> actions;
  for (const auto& [mac, vtep] : current_fdb) {
    auto it = final_fdb.find(mac);
    if (it == final_fdb.end() || it->second != vtep)
      actions.emplace_back(DeleteFdb{mac, vtep});
  }
  for (const auto& [ip, mac] : current_neigh) {
    if (!final_neigh.contains(ip))
      actions.emplace_back(DeleteNeighbour{ip});
  }
  for (const auto& [mac, vtep] : final_fdb) {
    if (std::find(current_fdb.begin(), current_fdb.end(), std::pair{mac, vtep}) ==
        current_fdb.end()) {
      actions.emplace_back(SetFdb{mac, vtep});
    }
  }
  for (const auto& [ip, mac] : final_neigh) {
    if (std::find(current_neigh.begin(), current_neigh.end(), std::pair{ip, mac}) ==
        current_neigh.end()) {
      actions.emplace_back(SetNeighbour{ip, mac});
    }
  }
  SHOAL_TRY(apply(network_id, actions));
  network->peers = std::move(table);
  return {};
}

Result<SweepReport> Overlay::sweep(const std::set<std::string>& networks,
                                   const std::set<std::string>& endpoints) {
  SweepReport report;
  SHOAL_ASSIGN_OR_RETURN(std::vector<std::string> names, kernel_->netns_list());
  const std::string net_prefix = node_prefix(node_.tag) + "net-";
  const std::string ep_prefix = node_prefix(node_.tag) + "ep-";
  for (const std::string& name : names) {
    if (name.starts_with(net_prefix)) {
      std::string id = name.substr(net_prefix.size());
      if (!networks.contains(id)) {
        SHOAL_TRY(remove_sandbox(name));
        networks_.erase(id);
        report.removed.push_back(name);
      }
    } else if (name.starts_with(ep_prefix)) {
      if (!endpoints.contains(name.substr(ep_prefix.size()))) {
        SHOAL_TRY(kernel_->netns_delete(name));
        report.removed.push_back(name);
      }
    }
  }
  return report;
}

}  // namespace shoal::dataplane
