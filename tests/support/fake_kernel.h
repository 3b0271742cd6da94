// An in-memory NetKernel for unit tests: namespaces, links, addresses, routes, neighbour and
// forwarding entries as plain maps, with the kernel rules the overlay depends on (names unique
// per namespace, a VNI used once per underlay address, deleting a veth end deletes both ends).
// Counts every mutating call so tests can assert that a converged state changes nothing, and
// can be told to fail one operation.
#pragma once

#include <map>
#include <set>
#include <string>

#include "dataplane/kernel.h"

namespace shoal::testing {

using dataplane::LinkChange;
using dataplane::LinkInfo;
using dataplane::VethConfig;
using dataplane::VxlanConfig;

class FakeKernel final : public dataplane::NetKernel {
 public:
  struct Link {
    LinkInfo info;
    std::vector<Ipv4Prefix> addresses;
    std::optional<Ipv4> default_route;
    std::pair<std::string, std::string> veth_peer;  // (ns, name) of the other end
  };
  struct Namespace {
    std::map<std::string, Link> links;
    std::map<std::pair<std::string, Ipv4>, Mac> neighbours;  // (link, ip) -> mac
    std::map<std::pair<std::string, Mac>, Ipv4> fdb;         // (link, mac) -> vtep
    std::map<std::string, std::string> sysctls;
  };

  explicit FakeKernel(uint32_t node_mtu = 1500, Ipv4 node_address = Ipv4(0xc6336401));

  // The next call of this operation ("create_veth", "add_address", ...) fails with errnum.
  void fail_next(const std::string& op, int errnum) { failures_[op] = errnum; }
  int mutations() const { return mutations_; }
  bool has_ns(const std::string& ns) const { return namespaces_.contains(ns); }
  Namespace& ns(const std::string& name) { return namespaces_.at(name); }
  const Link* find_link(const std::string& ns, const std::string& name) const;

  bool netns_exists(const std::string& name) override;
  Status netns_create(const std::string& name) override;
  Status netns_delete(const std::string& name) override;
  Result<std::vector<std::string>> netns_list() override;
  Result<std::vector<LinkInfo>> links(const std::string& ns) override;
  Result<std::optional<LinkInfo>> link(const std::string& ns, const std::string& name) override;
  Status create_bridge(const std::string& ns, const std::string& name, uint32_t mtu) override;
  Status create_vxlan(const std::string& ns, const VxlanConfig& config) override;
  Status create_veth(const std::string& ns, const VethConfig& config) override;
  Status delete_link(const std::string& ns, const std::string& name) override;
  Status change_link(const std::string& ns, const std::string& name,
                     const LinkChange& change) override;
  Result<std::vector<Ipv4Prefix>> addresses(const std::string& ns,
                                            const std::string& link) override;
  Status add_address(const std::string& ns, const std::string& link, Ipv4Prefix address) override;
  Status set_default_route(const std::string& ns, const std::string& link, Ipv4 gateway) override;
  Status set_neighbour(const std::string& ns, const std::string& link, Ipv4 ip, Mac mac) override;
  Status delete_neighbour(const std::string& ns, const std::string& link, Ipv4 ip) override;
  Status set_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) override;
  Status delete_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) override;
  Result<std::vector<std::pair<Ipv4, Mac>>> neighbours(const std::string& ns,
                                                       const std::string& link) override;
  Result<std::vector<std::pair<Mac, Ipv4>>> fdb_entries(const std::string& ns,
                                                        const std::string& link) override;
  Status set_sysctl(const std::string& ns, const std::string& key,
                    const std::string& value) override;
  Result<uint32_t> mtu_of_address(Ipv4 address) override;

 private:
  Status check(const std::string& op, const std::string& object);
  Result<Namespace*> get_ns(const std::string& op, const std::string& ns);
  Result<Link*> get_link(const std::string& op, const std::string& ns, const std::string& name);
  Status insert_link(const std::string& op, const std::string& ns, Link link);

  std::map<std::string, Namespace> namespaces_;
  std::map<std::string, int> failures_;
  int mutations_ = 0;
  int next_ifindex_ = 2;
  uint32_t node_mtu_;
  Ipv4 node_address_;
};

}  // namespace shoal::testing
