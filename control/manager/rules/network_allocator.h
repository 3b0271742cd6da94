// Everything the manager hands out that must be unique: VXLAN IDs, subnets, addresses (task IPs
// and service VIPs) and ingress published ports.
//
// VNIs are the lowest free from 4096 upward (Docker's range). Subnets come from the default pool
// (10.0.0.0/8) in /24s, lowest free first, skipping any that overlap a subnet already in use, so
// the ingress network, allocated first at swarm init, gets 10.0.0.0/24. An explicit --subnet is
// accepted anywhere as long as it overlaps no other network's. The gateway is the subnet's
// first address unless given. A service gets a VIP on each of its networks (vip endpoint mode)
// and on ingress when it publishes a port in ingress mode; a task gets an address on the same
// networks. Every holder is remembered by id, so release needs only the id, and rebuild() can
// recreate all of it from the objects in the store after a manager restart.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/manager/rules/ip_pool.h"
#include "control/manager/rules/port_allocator.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

struct AllocatorConfig {
  Ipv4Prefix default_pool{Ipv4(10u << 24), 8};  // --default-addr-pool
  int subnet_size = 24;
  uint32_t vni_first = 4096;
  uint32_t vni_last = (1u << 24) - 1;
  uint16_t dynamic_port_first = 30000;
  uint16_t dynamic_port_last = 32767;
};

class NetworkAllocator {
 public:
  static Result<NetworkAllocator> create(AllocatorConfig config);

  // Gives the network its VNI, subnet and gateway (keeping explicit ones after checking them).
  Status allocate_network(Network& network);
  void release_network(const std::string& network_id);

  // Fills in the service's endpoint: published ports and VIPs. Every network the service names
  // (and the ingress network, when a port is published in ingress mode) must be allocated.
  // All or nothing; a service already allocated must be released first.
  Status allocate_service(Service& service);
  // An allocated service whose ports or networks changed (`service update`): it keeps its VIPs
  // on the networks it stays on and the dynamic ports of the ports it keeps; what it no longer
  // uses is released. All or nothing: on error it holds what it held before.
  Status reallocate_service(Service& service);
  void release_service(const std::string& service_id);

  // An address on each of the task's service's networks (ingress included as above).
  // All or nothing; a task already allocated must be released first.
  Status allocate_task(Task& task, const Service& service);
  void release_task(const std::string& task_id);
  bool holds_task(const std::string& task_id) const { return holders_.contains(task_id); }

  // A node's endpoint on the ingress network (every node has one: the mesh sends from it).
  // Nothing to do while there is no allocated ingress network.
  Status allocate_node(Node& node);
  void release_node(const std::string& node_id) { release_task(node_id); }

  // Forgets everything and claims what the store's objects say they hold: networks' VNIs and
  // subnets, allocated services' ports and VIPs, addresses of tasks not yet terminal, and
  // nodes' ingress addresses.
  Status rebuild(const ReadTx& tx);

  const IpPool* pool(const std::string& network_id) const;
  std::optional<std::string> ingress_network_id() const { return ingress_id_; }

 private:
  explicit NetworkAllocator(AllocatorConfig config);
  Result<Ipv4Prefix> next_subnet() const;
  Status check_subnet_free(const Network& network, const Ipv4Prefix& subnet) const;
  Status claim_network(const Network& network);
  Result<std::vector<std::string>> attached_networks(const Service& service) const;
  Result<Ipv4Prefix> allocate_address(const std::string& holder, const std::string& network_id);
  // The VIP the service had on the network, when it had one there; else a fresh one.
  Result<Ipv4Prefix> service_vip(const std::string& service_id, const std::string& network_id,
                                 const ServiceEndpoint& previous);
  // Fills in the endpoint; `previous` names VIPs and dynamic ports to keep where still wanted.
  Status assign_endpoint(Service& service, const ServiceEndpoint& previous);
  // Claims exactly what an endpoint names (after a restart, or to undo a failed change).
  Status claim_endpoint(const Service& service, const ServiceEndpoint& endpoint);

  struct NetworkState {
    std::string name;
    uint32_t vni = 0;
    IpPool pool;
  };
  using Holding = std::vector<std::pair<std::string, Ipv4>>;  // network id, address

  AllocatorConfig config_;
  std::set<uint32_t> vnis_;
  std::map<std::string, NetworkState> networks_;  // by network id
  std::optional<std::string> ingress_id_;
  std::map<std::string, Holding> holders_;                        // task or service id
  std::map<std::string, std::vector<PortConfig>> service_ports_;  // by service id
  PortAllocator ports_;
};

}  // namespace shoal::manager
