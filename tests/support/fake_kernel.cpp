#include "tests/support/fake_kernel.h"

#include <cerrno>

namespace shoal::testing {

using dataplane::describe_link;
using dataplane::LinkKind;

FakeKernel::FakeKernel(uint32_t node_mtu, Ipv4 node_address)
    : node_mtu_(node_mtu), node_address_(node_address) {
  namespaces_[""];
}

Status FakeKernel::check(const std::string& op, const std::string& object) {
  auto it = failures_.find(op);
  if (it != failures_.end()) {
    int errnum = it->second;
    failures_.erase(it);
    return sys_error(op, object, errnum, "injected by the test");
  }
  return {};
}

Result<FakeKernel::Namespace*> FakeKernel::get_ns(const std::string& op, const std::string& ns) {
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end()) {
    return sys_error(op, "netns " + ns, ENOENT);
  }
  return &it->second;
}

Result<FakeKernel::Link*> FakeKernel::get_link(const std::string& op, const std::string& ns,
                                               const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(Namespace * space, get_ns(op, ns));
  auto it = space->links.find(name);
  if (it == space->links.end()) {
    return sys_error(op, describe_link(ns, name), ENODEV);
  }
  return &it->second;
}

const FakeKernel::Link* FakeKernel::find_link(const std::string& ns,
                                              const std::string& name) const {
  auto space = namespaces_.find(ns);
  if (space == namespaces_.end())
    return nullptr;
  auto it = space->second.links.find(name);
  return it == space->second.links.end() ? nullptr : &it->second;
}

Status FakeKernel::insert_link(const std::string& op, const std::string& ns, Link link) {
  SHOAL_ASSIGN_OR_RETURN(Namespace * space, get_ns(op, ns));
  if (space->links.contains(link.info.name)) {
    return sys_error(op, describe_link(ns, link.info.name), EEXIST);
  }
  link.info.ifindex = next_ifindex_++;
  space->links[link.info.name] = std::move(link);
  return {};
}

bool FakeKernel::netns_exists(const std::string& name) {
  return !name.empty() && namespaces_.contains(name);
}

Status FakeKernel::netns_create(const std::string& name) {
  SHOAL_TRY(check("netns_create", name));
  if (!namespaces_.contains(name)) {
    ++mutations_;
    namespaces_[name];
  }
  return {};
}

Status FakeKernel::netns_delete(const std::string& name) {
  SHOAL_TRY(check("netns_delete", name));
  auto it = namespaces_.find(name);
  if (it == namespaces_.end()) {
    return {};
  }
  ++mutations_;
  for (auto& [link_name, link] : it->second.links) {
    if (!link.veth_peer.second.empty() && link.veth_peer.first != name) {
      namespaces_[link.veth_peer.first].links.erase(link.veth_peer.second);
    }
  }
  namespaces_.erase(it);
  return {};
}

Result<std::vector<std::string>> FakeKernel::netns_list() {
  std::vector<std::string> names;
  for (const auto& [name, space] : namespaces_) {
    if (!name.empty())
      names.push_back(name);
  }
  return names;
}

Result<std::vector<LinkInfo>> FakeKernel::links(const std::string& ns) {
  SHOAL_ASSIGN_OR_RETURN(Namespace * space, get_ns("links", ns));
  std::vector<LinkInfo> result;
  for (const auto& [name, link] : space->links)
    result.push_back(link.info);
  return result;
}

Result<std::optional<LinkInfo>> FakeKernel::link(const std::string& ns, const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(Namespace * space, get_ns("link", ns));
  auto it = space->links.find(name);
  if (it == space->links.end())
    return std::optional<LinkInfo>();
  return std::optional<LinkInfo>(it->second.info);
}

Status FakeKernel::create_bridge(const std::string& ns, const std::string& name, uint32_t mtu) {
  SHOAL_TRY(check("create_bridge", name));
  ++mutations_;
  Link link;
  link.info.name = name;
  link.info.kind = LinkKind::kBridge;
  link.info.mtu = mtu;
  return insert_link("create bridge", ns, std::move(link));
}

Status FakeKernel::create_vxlan(const std::string& ns, const VxlanConfig& config) {
  SHOAL_TRY(check("create_vxlan", config.name));
  for (const auto& [space_name, space] : namespaces_) {
    for (const auto& [name, link] : space.links) {
      if (link.info.vxlan && link.info.vxlan->vni == config.attrs.vni &&
          link.info.vxlan->local == config.attrs.local &&
          link.info.vxlan->port == config.attrs.port) {
        return sys_error("create vxlan", describe_link(ns, config.name), EEXIST);
      }
    }
  }
  ++mutations_;
  Link link;
  link.info.name = config.name;
  link.info.kind = LinkKind::kVxlan;
  link.info.mtu = config.mtu;
  link.info.vxlan = config.attrs;
  return insert_link("create vxlan", ns, std::move(link));
}

Status FakeKernel::create_veth(const std::string& ns, const VethConfig& config) {
  SHOAL_TRY(check("create_veth", config.name));
  SHOAL_ASSIGN_OR_RETURN(Namespace * peer_space, get_ns("create veth", config.peer_ns));
  if (peer_space->links.contains(config.peer_name)) {
    return sys_error("create veth", describe_link(config.peer_ns, config.peer_name), EEXIST);
  }
  ++mutations_;
  Link end;
  end.info.name = config.name;
  end.info.kind = LinkKind::kVeth;
  end.info.mtu = config.mtu;
  end.veth_peer = {config.peer_ns, config.peer_name};
  Link peer;
  peer.info.name = config.peer_name;
  peer.info.kind = LinkKind::kVeth;
  peer.info.mtu = config.mtu;
  peer.info.mac = config.peer_mac;
  peer.veth_peer = {ns, config.name};
  SHOAL_TRY(insert_link("create veth", ns, std::move(end)));
  return insert_link("create veth", config.peer_ns, std::move(peer));
}

Status FakeKernel::delete_link(const std::string& ns, const std::string& name) {
  SHOAL_TRY(check("delete_link", name));
  SHOAL_ASSIGN_OR_RETURN(Namespace * space, get_ns("delete link", ns));
  auto it = space->links.find(name);
  if (it == space->links.end()) {
    return {};
  }
  ++mutations_;
  auto [peer_ns, peer_name] = it->second.veth_peer;
  space->links.erase(it);
  if (!peer_name.empty() && namespaces_.contains(peer_ns)) {
    namespaces_[peer_ns].links.erase(peer_name);
  }
  return {};
}

Status FakeKernel::change_link(const std::string& ns, const std::string& name,
                               const LinkChange& change) {
  SHOAL_TRY(check("change_link", name));
  if (name == "lo") {
    return {};  // every namespace has a loopback; the fake does not model it
  }
  SHOAL_ASSIGN_OR_RETURN(Link * link, get_link("change link", ns, name));
  ++mutations_;
  if (change.master) {
    SHOAL_ASSIGN_OR_RETURN(Link * master, get_link("change link", ns, *change.master));
    link->info.master = master->info.ifindex;
  }
  if (change.up)
    link->info.up = *change.up;
  if (change.mtu)
    link->info.mtu = *change.mtu;
  return {};
}

Result<std::vector<Ipv4Prefix>> FakeKernel::addresses(const std::string& ns,
                                                      const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(Link * link, get_link("addresses", ns, name));
  return link->addresses;
}

Status FakeKernel::add_address(const std::string& ns, const std::string& name, Ipv4Prefix address) {
  SHOAL_TRY(check("add_address", name));
  SHOAL_ASSIGN_OR_RETURN(Link * link, get_link("add address", ns, name));
  ++mutations_;
  link->addresses.push_back(address);
  return {};
}

Status FakeKernel::set_default_route(const std::string& ns, const std::string& name, Ipv4 gateway) {
  SHOAL_TRY(check("set_default_route", name));
  SHOAL_ASSIGN_OR_RETURN(Link * link, get_link("set default route", ns, name));
  ++mutations_;
  link->default_route = gateway;
  return {};
}

Status FakeKernel::set_neighbour(const std::string& ns, const std::string& link, Ipv4 ip, Mac mac) {
  SHOAL_TRY(check("set_neighbour", link));
  SHOAL_TRY(get_link("set neighbour", ns, link));
  ++mutations_;
  namespaces_[ns].neighbours[{link, ip}] = mac;
  return {};
}

Status FakeKernel::delete_neighbour(const std::string& ns, const std::string& link, Ipv4 ip) {
  SHOAL_TRY(check("delete_neighbour", link));
  SHOAL_TRY(get_link("delete neighbour", ns, link));
  ++mutations_;
  namespaces_[ns].neighbours.erase({link, ip});
  return {};
}

Status FakeKernel::set_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) {
  SHOAL_TRY(check("set_fdb", link));
  SHOAL_TRY(get_link("set fdb", ns, link));
  ++mutations_;
  namespaces_[ns].fdb[{link, mac}] = vtep;
  return {};
}

Status FakeKernel::delete_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) {
  SHOAL_TRY(check("delete_fdb", link));
  SHOAL_TRY(get_link("delete fdb", ns, link));
  auto& fdb = namespaces_[ns].fdb;
  auto it = fdb.find({link, mac});
  if (it != fdb.end() && it->second == vtep) {
    ++mutations_;
    fdb.erase(it);
  }
  return {};
}

Result<std::vector<std::pair<Ipv4, Mac>>> FakeKernel::neighbours(const std::string& ns,
                                                                 const std::string& link) {
  SHOAL_TRY(get_link("neighbours", ns, link));
  std::vector<std::pair<Ipv4, Mac>> result;
  for (const auto& [key, mac] : namespaces_[ns].neighbours) {
    if (key.first == link)
      result.emplace_back(key.second, mac);
  }
  return result;
}

Result<std::vector<std::pair<Mac, Ipv4>>> FakeKernel::fdb_entries(const std::string& ns,
                                                                  const std::string& link) {
  SHOAL_TRY(get_link("fdb entries", ns, link));
  std::vector<std::pair<Mac, Ipv4>> result;
  for (const auto& [key, vtep] : namespaces_[ns].fdb) {
    if (key.first == link)
      result.emplace_back(key.second, vtep);
  }
  return result;
}

Status FakeKernel::set_sysctl(const std::string& ns, const std::string& key,
                              const std::string& value) {
  SHOAL_TRY(check("set_sysctl", key));
  SHOAL_ASSIGN_OR_RETURN(Namespace * space, get_ns("set sysctl", ns));
  space->sysctls[key] = value;  // idempotent writes, as /proc/sys is: not counted
  return {};
}

Result<uint32_t> FakeKernel::mtu_of_address(Ipv4 address) {
  if (address != node_address_) {
    return sys_error("find underlay interface", address.str(), EADDRNOTAVAIL);
  }
  return node_mtu_;
}

}  // namespace shoal::testing
