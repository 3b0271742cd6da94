#include "dataplane/libnl_kernel.h"

#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/nexthop.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

namespace shoal::dataplane {
namespace {

std::string ns_path(const std::string& ns) {
  return ns.starts_with('/') ? ns : named_netns_path(ns);
}

LinkKind kind_of(rtnl_link* link) {
  const char* type = rtnl_link_get_type(link);
  if (type == nullptr)
    return LinkKind::kOther;
  if (std::strcmp(type, "bridge") == 0)
    return LinkKind::kBridge;
  if (std::strcmp(type, "vxlan") == 0)
    return LinkKind::kVxlan;
  if (std::strcmp(type, "veth") == 0)
    return LinkKind::kVeth;
  return LinkKind::kOther;
}

LinkInfo to_info(rtnl_link* link) {
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(link);
  info.name = rtnl_link_get_name(link) ? rtnl_link_get_name(link) : "";
  info.kind = kind_of(link);
  info.mtu = rtnl_link_get_mtu(link);
  info.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  info.master = rtnl_link_get_master(link);
  info.mac = mac_of(rtnl_link_get_addr(link));
  if (info.kind == LinkKind::kVxlan) {
    VxlanAttrs attrs;
    rtnl_link_vxlan_get_id(link, &attrs.vni);
    nl_addr* raw_local = nullptr;
    if (rtnl_link_vxlan_get_local(link, &raw_local) == 0) {
      NlAddr local(raw_local);
      attrs.local = ipv4_of(local.get());
    }
    uint32_t port = 0;
    rtnl_link_vxlan_get_port(link, &port);
    attrs.port = static_cast<uint16_t>(port);
    attrs.learning = rtnl_link_vxlan_get_learning(link) > 0;
    attrs.proxy = rtnl_link_vxlan_get_proxy(link) > 0;
    info.vxlan = attrs;
  }
  return info;
}

std::string sysctl_path(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  for (size_t i = std::strlen("/proc/sys/"); i < path.size(); ++i) {
    if (path[i] == '.')
      path[i] = '/';
  }
  return path;
}

}  // namespace

Result<std::unique_ptr<LibnlKernel>> LibnlKernel::create(Netns node) {
  SHOAL_ASSIGN_OR_RETURN(NlSocket sock, NlSocket::open_in(node));
  return std::unique_ptr<LibnlKernel>(new LibnlKernel(Handle{std::move(node), std::move(sock)}));
}

Result<std::unique_ptr<LibnlKernel>> LibnlKernel::create_for_current() {
  SHOAL_ASSIGN_OR_RETURN(Netns node, Netns::current());
  return create(std::move(node));
}

Result<LibnlKernel::Handle*> LibnlKernel::handle(const std::string& ns) {
  if (ns.empty()) {
    return &node_;
  }
  struct stat st {};
  if (::stat(ns_path(ns).c_str(), &st) != 0) {
    named_.erase(ns);
    return sys_error("open netns", ns, errno);
  }
  auto it = named_.find(ns);
  if (it != named_.end() && it->second.ns.inode() == st.st_ino) {
    return &it->second;
  }
  named_.erase(ns);
  SHOAL_ASSIGN_OR_RETURN(Netns opened,
                         ns.starts_with('/') ? Netns::open_path(ns) : Netns::open_named(ns));
  SHOAL_ASSIGN_OR_RETURN(NlSocket sock, NlSocket::open_in(opened));
  auto [pos, inserted] = named_.emplace(ns, Handle{std::move(opened), std::move(sock)});
  return &pos->second;
}

Result<int> LibnlKernel::ifindex(const std::string& ns, const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(std::optional<LinkInfo> info, link(ns, name));
  if (!info) {
    return sys_error("find link", describe_link(ns, name), ENODEV);
  }
  return info->ifindex;
}

bool LibnlKernel::netns_exists(const std::string& name) {
  return named_netns_exists(name);
}

Status LibnlKernel::netns_create(const std::string& name) {
  return create_named_netns(name);
}

Status LibnlKernel::netns_delete(const std::string& name) {
  named_.erase(name);
  return delete_named_netns(name);
}

Result<std::vector<std::string>> LibnlKernel::netns_list() {
  return list_named_netns();
}

Result<std::vector<LinkInfo>> LibnlKernel::links(const std::string& ns) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(h->sock.get(), AF_UNSPEC, &raw); err < 0) {
    return nl_error("list links", ns.empty() ? "in the node namespace" : "in netns " + ns, err);
  }
  NlCache cache(raw);
  std::vector<LinkInfo> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    result.push_back(to_info(reinterpret_cast<rtnl_link*>(obj)));
  }
  return result;
}

Result<std::optional<LinkInfo>> LibnlKernel::link(const std::string& ns, const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(h->sock.get(), 0, name.c_str(), &raw);
  if (err < 0) {
    if (nl_is_not_found(err)) {
      return std::optional<LinkInfo>();
    }
    return nl_error("get link", describe_link(ns, name), err);
  }
  NlLink found(raw);
  return std::optional<LinkInfo>(to_info(found.get()));
}

Status LibnlKernel::add_link(const std::string& op, const std::string& ns, rtnl_link* link,
                             const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  if (int err = rtnl_link_add(h->sock.get(), link, NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return nl_error(op, describe_link(ns, name), err);
  }
  return {};
}

Status LibnlKernel::create_bridge(const std::string& ns, const std::string& name, uint32_t mtu) {
  NlLink bridge(rtnl_link_bridge_alloc());
  rtnl_link_set_name(bridge.get(), name.c_str());
  rtnl_link_set_mtu(bridge.get(), mtu);
  return add_link("create bridge", ns, bridge.get(), name);
}

Status LibnlKernel::create_vxlan(const std::string& ns, const VxlanConfig& config) {
  SHOAL_ASSIGN_OR_RETURN(Handle * target, handle(ns));
  NlLink vxlan(rtnl_link_vxlan_alloc());
  NlAddr local = make_nl_addr(config.attrs.local);
  rtnl_link_set_name(vxlan.get(), config.name.c_str());
  rtnl_link_set_mtu(vxlan.get(), config.mtu);
  rtnl_link_vxlan_set_id(vxlan.get(), config.attrs.vni);
  rtnl_link_vxlan_set_local(vxlan.get(), local.get());
  rtnl_link_vxlan_set_port(vxlan.get(), config.attrs.port);
  rtnl_link_vxlan_set_learning(vxlan.get(), config.attrs.learning ? 1 : 0);
  rtnl_link_vxlan_set_proxy(vxlan.get(), config.attrs.proxy ? 1 : 0);
  if (!ns.empty()) {
    rtnl_link_set_ns_fd(vxlan.get(), target->ns.fd());
  }
  // Sent from the node's socket: the kernel binds the VXLAN UDP socket in the sender's namespace.
  if (int err = rtnl_link_add(node_.sock.get(), vxlan.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return nl_error(
        "create vxlan",
        describe_link(ns, config.name) + " (VNI " + std::to_string(config.attrs.vni) + ")", err);
  }
  return {};
}

Status LibnlKernel::create_veth(const std::string& ns, const VethConfig& config) {
  SHOAL_ASSIGN_OR_RETURN(Handle * peer_ns, handle(config.peer_ns));
  NlLink veth(rtnl_link_veth_alloc());
  NlLink peer(rtnl_link_veth_get_peer(veth.get()));
  NlAddr peer_mac = make_nl_addr(config.peer_mac);
  rtnl_link_set_name(veth.get(), config.name.c_str());
  rtnl_link_set_mtu(veth.get(), config.mtu);
  rtnl_link_set_name(peer.get(), config.peer_name.c_str());
  rtnl_link_set_mtu(peer.get(), config.mtu);
  rtnl_link_set_addr(peer.get(), peer_mac.get());
  rtnl_link_set_ns_fd(peer.get(), peer_ns->ns.fd());
  return add_link("create veth", ns, veth.get(),
                  config.name + " (peer " + describe_link(config.peer_ns, config.peer_name) + ")");
}

Status LibnlKernel::delete_link(const std::string& ns, const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  NlLink link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(h->sock.get(), link.get());
  if (err < 0 && !nl_is_not_found(err)) {
    return nl_error("delete link", describe_link(ns, name), err);
  }
  return {};
}

Status LibnlKernel::change_link(const std::string& ns, const std::string& name,
                                const LinkChange& change) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(h->sock.get(), 0, name.c_str(), &raw); err < 0) {
    return nl_error("change link", describe_link(ns, name), err);
  }
  NlLink orig(raw);
  NlLink delta(rtnl_link_alloc());
  if (change.master) {
    SHOAL_ASSIGN_OR_RETURN(int master, ifindex(ns, *change.master));
    rtnl_link_set_master(delta.get(), master);
  }
  if (change.mtu) {
    rtnl_link_set_mtu(delta.get(), *change.mtu);
  }
  if (change.up) {
    *change.up ? rtnl_link_set_flags(delta.get(), IFF_UP)
               : rtnl_link_unset_flags(delta.get(), IFF_UP);
  }
  if (int err = rtnl_link_change(h->sock.get(), orig.get(), delta.get(), 0); err < 0) {
    return nl_error("change link", describe_link(ns, name), err);
  }
  return {};
}

Result<std::vector<Ipv4Prefix>> LibnlKernel::addresses(const std::string& ns,
                                                       const std::string& link_name) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(h->sock.get(), &raw); err < 0) {
    return nl_error("list addresses", describe_link(ns, link_name), err);
  }
  NlCache cache(raw);
  std::vector<Ipv4Prefix> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_ifindex(addr) == index && rtnl_addr_get_family(addr) == AF_INET) {
      nl_addr* local = rtnl_addr_get_local(addr);
      result.emplace_back(ipv4_of(local), static_cast<int>(nl_addr_get_prefixlen(local)));
    }
  }
  return result;
}

Status LibnlKernel::add_address(const std::string& ns, const std::string& link_name,
                                Ipv4Prefix address) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  NlRtAddr addr(rtnl_addr_alloc());
  NlAddr local = make_nl_addr(address.addr(), address.length());
  rtnl_addr_set_ifindex(addr.get(), index);
  rtnl_addr_set_local(addr.get(), local.get());
  if (int err = rtnl_addr_add(h->sock.get(), addr.get(), NLM_F_REPLACE); err < 0) {
    return nl_error("add address " + address.str(), describe_link(ns, link_name), err);
  }
  return {};
}

Status LibnlKernel::set_default_route(const std::string& ns, const std::string& link_name,
                                      Ipv4 gateway) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  NlRoute route(rtnl_route_alloc());
  NlAddr any = make_nl_addr(Ipv4(), 0);
  NlAddr via = make_nl_addr(gateway);
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_dst(route.get(), any.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();  // owned by the route once added
  rtnl_route_nh_set_ifindex(hop, index);
  rtnl_route_nh_set_gateway(hop, via.get());
  rtnl_route_add_nexthop(route.get(), hop);
  if (int err = rtnl_route_add(h->sock.get(), route.get(), NLM_F_REPLACE); err < 0) {
    return nl_error("set default route via " + gateway.str(), describe_link(ns, link_name), err);
  }
  return {};
}

Status LibnlKernel::write_neigh(const std::string& op, const std::string& ns,
                                const std::string& link_name, rtnl_neigh* neigh, bool add) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  int err = add ? rtnl_neigh_add(h->sock.get(), neigh, NLM_F_CREATE | NLM_F_REPLACE)
                : rtnl_neigh_delete(h->sock.get(), neigh, 0);
  if (err < 0 && !(!add && nl_is_not_found(err))) {
    return nl_error(op, describe_link(ns, link_name), err);
  }
  return {};
}

Status LibnlKernel::set_neighbour(const std::string& ns, const std::string& link_name, Ipv4 ip,
                                  Mac mac) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  NlNeigh neigh(rtnl_neigh_alloc());
  NlAddr dst = make_nl_addr(ip);
  NlAddr lladdr = make_nl_addr(mac);
  rtnl_neigh_set_ifindex(neigh.get(), index);
  rtnl_neigh_set_dst(neigh.get(), dst.get());
  rtnl_neigh_set_lladdr(neigh.get(), lladdr.get());
  rtnl_neigh_set_state(neigh.get(), NUD_PERMANENT);
  return write_neigh("set neighbour " + ip.str() + " at " + mac.str(), ns, link_name, neigh.get(),
                     true);
}

Status LibnlKernel::delete_neighbour(const std::string& ns, const std::string& link_name, Ipv4 ip) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  NlNeigh neigh(rtnl_neigh_alloc());
  NlAddr dst = make_nl_addr(ip);
  rtnl_neigh_set_ifindex(neigh.get(), index);
  rtnl_neigh_set_dst(neigh.get(), dst.get());
  return write_neigh("delete neighbour " + ip.str(), ns, link_name, neigh.get(), false);
}

namespace {

NlNeigh fdb_entry(int index, const NlAddr& mac, const NlAddr& vtep) {
  NlNeigh neigh(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(neigh.get(), index);
  // The destination (the VTEP) is set first: libnl takes the family from it, and the bridge
  // family must override that afterwards.
  rtnl_neigh_set_dst(neigh.get(), vtep.get());
  rtnl_neigh_set_family(neigh.get(), AF_BRIDGE);
  rtnl_neigh_set_lladdr(neigh.get(), mac.get());
  rtnl_neigh_set_flags(neigh.get(), NTF_SELF);
  rtnl_neigh_set_state(neigh.get(), NUD_PERMANENT | NUD_NOARP);
  return neigh;
}

}  // namespace

Status LibnlKernel::set_fdb(const std::string& ns, const std::string& link_name, Mac mac,
                            Ipv4 vtep) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  NlAddr lladdr = make_nl_addr(mac);
  NlAddr dst = make_nl_addr(vtep);
  NlNeigh entry = fdb_entry(index, lladdr, dst);
  return write_neigh("set fdb " + mac.str() + " dst " + vtep.str(), ns, link_name, entry.get(),
                     true);
}

Status LibnlKernel::delete_fdb(const std::string& ns, const std::string& link_name, Mac mac,
                               Ipv4 vtep) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  NlAddr lladdr = make_nl_addr(mac);
  NlAddr dst = make_nl_addr(vtep);
  NlNeigh entry = fdb_entry(index, lladdr, dst);
  return write_neigh("delete fdb " + mac.str() + " dst " + vtep.str(), ns, link_name, entry.get(),
                     false);
}

Result<NlCache> LibnlKernel::neigh_cache(const std::string& ns, const std::string& link_name) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  nl_cache* raw = nullptr;
  // An AF_UNSPEC dump returns the ARP table and the bridge-family (FDB) entries alike.
  if (int err = rtnl_neigh_alloc_cache(h->sock.get(), &raw); err < 0) {
    return nl_error("list neighbours", describe_link(ns, link_name), err);
  }
  return NlCache(raw);
}

Result<std::vector<std::pair<Ipv4, Mac>>> LibnlKernel::neighbours(const std::string& ns,
                                                                  const std::string& link_name) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  SHOAL_ASSIGN_OR_RETURN(NlCache cache, neigh_cache(ns, link_name));
  std::vector<std::pair<Ipv4, Mac>> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* neigh = reinterpret_cast<rtnl_neigh*>(obj);
    if (rtnl_neigh_get_ifindex(neigh) == index && rtnl_neigh_get_family(neigh) == AF_INET &&
        (rtnl_neigh_get_state(neigh) & NUD_PERMANENT) != 0) {
      result.emplace_back(ipv4_of(rtnl_neigh_get_dst(neigh)), mac_of(rtnl_neigh_get_lladdr(neigh)));
    }
  }
  return result;
}

Result<std::vector<std::pair<Mac, Ipv4>>> LibnlKernel::fdb_entries(const std::string& ns,
                                                                   const std::string& link_name) {
  SHOAL_ASSIGN_OR_RETURN(int index, ifindex(ns, link_name));
  SHOAL_ASSIGN_OR_RETURN(NlCache cache, neigh_cache(ns, link_name));
  std::vector<std::pair<Mac, Ipv4>> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* neigh = reinterpret_cast<rtnl_neigh*>(obj);
    nl_addr* dst = rtnl_neigh_get_dst(neigh);
    if (rtnl_neigh_get_ifindex(neigh) == index && rtnl_neigh_get_family(neigh) == AF_BRIDGE &&
        dst != nullptr && nl_addr_get_family(dst) == AF_INET) {
      result.emplace_back(mac_of(rtnl_neigh_get_lladdr(neigh)), ipv4_of(dst));
    }
  }
  return result;
}

Status LibnlKernel::set_sysctl(const std::string& ns, const std::string& key,
                               const std::string& value) {
  SHOAL_ASSIGN_OR_RETURN(Handle * h, handle(ns));
  const std::string path = sysctl_path(key);
  return run_in_netns(h->ns, [&]() -> Status {
    std::ofstream file(path);
    if (!(file << value << '\n') || !file.flush()) {
      return sys_error("set sysctl " + key + "=" + value, ns.empty() ? "node" : "netns " + ns,
                       errno);
    }
    return {};
  });
}

Result<uint32_t> LibnlKernel::mtu_of_address(Ipv4 address) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(node_.sock.get(), &raw); err < 0) {
    return nl_error("list addresses", "in the node namespace", err);
  }
  NlCache cache(raw);
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_family(addr) == AF_INET && ipv4_of(rtnl_addr_get_local(addr)) == address) {
      rtnl_link* raw_link = nullptr;
      int err =
          rtnl_link_get_kernel(node_.sock.get(), rtnl_addr_get_ifindex(addr), nullptr, &raw_link);
      if (err < 0) {
        return nl_error("get link of address", address.str(), err);
      }
      NlLink link(raw_link);
      return rtnl_link_get_mtu(link.get());
    }
  }
  return sys_error("find underlay interface", "holding " + address.str(), EADDRNOTAVAIL,
                   "no interface in the node namespace has this address");
}

}  // namespace shoal::dataplane
