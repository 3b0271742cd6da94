// The IPVS load balancer: the lb::LoadBalancer interface over the kernel's IPVS, for hosts
// whose kernel has IPVS but not the eBPF hooks (or whose operators want IPVS, as Swarm uses).
//
// Keying: every frontend (VIP:port/proto, or VIP/proto for "every port") and every published
// port is one IPVS service keyed by a firewall mark, not by VIP:port. IPVS cannot express "every
// port of a VIP" as a VIP:port service (port 0 means persistence there), while a fwmark service
// whose destinations have port 0 keeps the client's port, which is what Swarm's VIPs do; a
// published port needs "any local address", which only a mark can say. The marks are set by
// nftables maps in a table of our own (kTable), created and removed as a whole.
//
// Forwarding is NAT (masquerade): the nftables table masquerades what IPVS sends, so replies come
// back through this node whichever network the client is on; a published port with
// preserve_source gets a mark outside that range and keeps the client's address.
// VIPs are made local addresses on a dummy link so that clients on the node reach them.
// A backend leaving a service is first set to weight 0 (no new connections) and deleted only once
// IPVS counts no active connection to it (every change, and sweep(), looks): IPVS drops the
// packets of a connection whose backend is deleted, so deleting at once would cut them.
//
// Restarts: the kernel keeps the IPVS services, the nftables maps and the VIP addresses when the
// agent goes. create() adopts them: it reads the maps' marks back (nft's JSON), asks IPVS for the
// destinations of each, and keeps the table's elements while it replaces the table's rules in
// one transaction, so no packet goes unmarked. An adopted target belongs to no service until an
// upsert names its frontend or port again (it keeps its mark, so its connections go on); prune()
// removes what nobody claimed, once the caller's feed has had time to come back.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "dataplane/lb/load_balancer.h"
#include "ipvs/ipvs_kernel.h"

namespace shoal::ipvs {

inline constexpr const char* kTable = "shoal-ipvs";
inline constexpr uint32_t kMarkMask = 0xfff00000u;
inline constexpr uint32_t kMasqueradeMarks = 0x5e100000u;  // IPVS traffic to masquerade
inline constexpr uint32_t kPreserveMarks = 0x5e200000u;    // published ports keeping the source
inline constexpr uint32_t kMaxMarkIds = 0x000fffffu;

class IpvsLoadBalancer final : public lb::LoadBalancer {
 public:
  // Replaces the nftables table (a leftover of an earlier run) and sets the IPVS timeouts.
  static Result<std::unique_ptr<IpvsLoadBalancer>> create(IpvsKernel& kernel);

  std::string backend_name() const override { return "ipvs"; }
  Status upsert(const lb::Service& service) override;
  Status set_backends(const std::string& service_id, const std::vector<lb::Backend>& backends,
                      const std::vector<lb::Backend>& ingress_backends) override;
  Status remove(const std::string& service_id) override;
  std::vector<lb::Service> list() const override;

  // Deletes the leaving backends that no longer have an active connection. The agent calls it
  // periodically; every change calls it too.
  Status sweep();

  // Removes the adopted targets that no upsert claimed since create().
  Status prune();
  // Adopted targets not claimed yet.
  size_t unclaimed() const;

  // Removes every service, the nftables table and the VIP link.
  Status teardown();

 private:
  using Key = std::tuple<uint32_t, uint16_t, uint8_t>;  // vip (0: published), port, protocol
  struct Target {
    uint32_t mark = 0;
    uint16_t backend_port = 0;
    std::string scheduler;           // empty: adopted (IPVS is not asked for it)
    std::string owner;               // empty: adopted and not claimed yet
    std::map<Ipv4, uint32_t> dests;  // address -> weight in the kernel
    std::set<Ipv4> leaving;          // at weight 0, deleted once without connections
  };
  struct Wanted {
    Key key;
    uint32_t mark_base = kMasqueradeMarks;
    uint16_t backend_port = 0;
    const std::vector<lb::Backend>* backends = nullptr;
  };

  explicit IpvsLoadBalancer(IpvsKernel& kernel) : kernel_(&kernel) {}
  static std::vector<Wanted> wanted_of(const lb::Service& service);
  Status adopt(const std::string& listing);
  void claim(Target& target, const Wanted& wanted, const std::string& owner,
             const std::string& scheduler);
  Status drop_keys(const std::vector<Key>& keys);
  static std::string describe(const Key& key);
  static std::string element(const Key& key);
  static const char* map_of(const Key& key);
  Status add_target(const Wanted& wanted, const std::string& owner, const std::string& scheduler,
                    std::string& nft_adds);
  Status drop_target(const Key& key);
  Status sync_dests(Target& target, const std::vector<lb::Backend>& backends);
  Status release_vip(uint32_t vip);
  Result<uint32_t> allocate_id();

  IpvsKernel* kernel_;
  std::map<std::string, lb::Service> services_;
  std::map<Key, Target> targets_;
  std::map<uint32_t, int> vip_refs_;
  std::vector<uint32_t> free_ids_;
  uint32_t next_id_ = 1;
};

}  // namespace shoal::ipvs
