// The node firewall: what Shoal filters itself in the node's network namespace, in an nftables
// table of its own (`inet shoal-firewall`). No other table, chain or rule is read or touched,
// and nothing is flushed but this table's own objects.
//
// One base chain on the input hook (traffic for the node itself), two rules of policy:
//  - VXLAN (udp/4789) is taken only from the swarm's nodes: the set `swarm_nodes`, which the
//    agent keeps equal to the node list the manager sends. A datagram from anyone else would
//    be decapsulated into a task's network with any inner source it claims.
//  - Tasks do not reach the node's own sockets (the manager port, etcd, gossip, anything the
//    host runs): traffic that enters the node's namespace through a task-facing interface
//    (`task_links`: the node's endpoint on the ingress network, ingress0) and is for the node
//    itself is refused, unless it answers a connection the node opened. The routing mesh does
//    not pass here: its eBPF programs redirect at tc, before netfilter, and IPVS takes published
//    ports at its own input hook (priority 98-99), before this chain (priority 110).
//
// Restarts are boring: install() declares the table's objects (adding what is missing), then
// refills the chain and the link set in one transaction; `swarm_nodes` keeps the elements an
// earlier run left, so overlay traffic flows on while the agent waits for the manager. A table
// of another layout (an older version) is replaced whole. The table is removed only by
// remove() (swarm leave); the destructor leaves it to the next run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/firewall/nft_runner.h"
#include "dataplane/overlay_spec.h"

namespace shoal::dataplane::firewall {

inline constexpr const char* kTable = "shoal-firewall";  // family inet

struct FirewallConfig {
  uint16_t vxlan_port = kVxlanPort;
  // The interfaces by which task namespaces reach the node's namespace. Names, not indexes: a
  // link made again later (the ingress network re-created) is covered as it was.
  std::vector<std::string> task_links = {"ingress0"};

  // A port of 0, or a name that is not an interface name (1-15 bytes, no quote, space or
  // slash), is refused before anything reaches the kernel.
  Status validate() const;
};

// What the agent asks of the firewall. Narrow, so that the agent's use is tested against a fake.
class OverlaySources {
 public:
  virtual ~OverlaySources() = default;
  // Makes `nodes` the whole set of addresses overlay (VXLAN) traffic is taken from, in one
  // transaction: no datagram sees a half-updated set. Blocks for one nft transaction; called on
  // the agent session's thread.
  virtual Status set_overlay_sources(const std::set<Ipv4>& nodes) = 0;
};

class NodeFirewall final : public OverlaySources {
 public:
  // Installs or converges the table through `runner` (see above).
  static Result<std::unique_ptr<NodeFirewall>> install(std::unique_ptr<NftRunner> runner,
                                                       FirewallConfig config = {});
  // Not thread-safe: one caller at a time (the agent session's thread, then leave).
  Status set_overlay_sources(const std::set<Ipv4>& nodes) override;
  // Deletes the table (swarm leave). Idempotent.
  Status remove();

 private:
  NodeFirewall(std::unique_ptr<NftRunner> runner, FirewallConfig config)
      : runner_(std::move(runner)), config_(std::move(config)) {}
  std::unique_ptr<NftRunner> runner_;
  FirewallConfig config_;
  std::optional<std::set<Ipv4>> applied_;  // unknown after install: an earlier run's set
};

// The scripts, pure (the unit tests read them).
std::string install_script(const FirewallConfig& config);
// Replaces the elements of swarm_nodes.
std::string overlay_sources_script(const std::set<Ipv4>& nodes);
std::string remove_script();

}  // namespace shoal::dataplane::firewall
