// The routing-mesh programs of one node: RAII over the ingress skeleton.
//
// load() opens the programs with their maps pinned beside the VIP balancer's (the backend slots
// map is the same pinned map, so one EbpfLoadBalancer programs both), so conntrack survives an
// agent restart and established flows keep their backend. attach() puts them on tc ingress of
// the node's uplink and of its interface on the ingress overlay; the tc filters outlive the
// agent, and a new agent replaces them in place.
#pragma once

#include <memory>
#include <string>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/netns.h"

struct shoal_ingress;

namespace shoal::ebpf {

struct IngressConfig {
  std::string pin_dir;          // the node's LbProgram pin directory
  uint32_t max_slots = 262144;  // must equal the LbProgram's
  uint32_t max_ports = 1024;
  uint32_t max_flows = 262144;  // per direction; least recently used flows go first
  Ipv4 node_ip;                 // the underlay address clients reach
  Ipv4 ingress_ip;              // this node's address on the ingress overlay (SNAT source)
  std::string uplink;           // where clients come from; empty: the interface holding node_ip
  std::string ingress_link = "ingress0";
};

class IngressProgram {
 public:
  static Result<std::unique_ptr<IngressProgram>> load(IngressConfig config);
  ~IngressProgram();
  IngressProgram(const IngressProgram&) = delete;
  IngressProgram& operator=(const IngressProgram&) = delete;

  // Resolves the two links in the node's namespace, records them, attaches both programs.
  Status attach(const dataplane::Netns& node);
  // Detaches from both links of the node's namespace.
  Status detach(const dataplane::Netns& node);
  // Removes the ingress pins (not the slots map, which the VIP balancer owns).
  Status unpin();

  int ports_fd() const;
  int config_fd() const;
  int from_uplink_fd() const;
  int from_overlay_fd() const;

 private:
  explicit IngressProgram(IngressConfig config) : config_(std::move(config)) {}
  // The uplink's name, asked inside the node's namespace (as configured, else the interface
  // holding node_ip there).
  Result<std::string> uplink_in_this_netns() const;
  IngressConfig config_;
  shoal_ingress* skeleton_ = nullptr;
};

}  // namespace shoal::ebpf
