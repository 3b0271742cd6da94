// The load-balancer interface: what the agent asks of whichever backend the node uses (eBPF
// here; IPVS where the kernel has it). Plain records; no knowledge of tasks or the store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::lb {

enum class Protocol : uint8_t { kTcp = 6, kUdp = 17 };

// Clients reach the service at vip:port on a network; the backend answers on target_port.
// Port 0 takes every port of the VIP, each to the same port on the backend (Swarm's VIPs).
struct Frontend {
  Ipv4 vip;
  uint16_t port = 0;  // 0: every port
  Protocol protocol = Protocol::kTcp;
  uint16_t target_port = 0;  // 0: same as port

  friend bool operator==(const Frontend&, const Frontend&) = default;
};

enum class BackendState : uint8_t {
  kActive,    // receives new connections
  kDraining,  // keeps its connections, receives no new ones
};

struct Backend {
  Ipv4 ip;
  uint32_t weight = 1;
  BackendState state = BackendState::kActive;

  friend bool operator==(const Backend&, const Backend&) = default;
};

// A port published on the node's own address (the routing mesh): clients reach it at any node
// and land on one of the service's ingress backends (their addresses on the ingress network).
// For `mode=host` the caller passes only the tasks running on this node: a node without one
// then does not answer on the port.
struct PublishedPort {
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
  uint16_t target_port = 0;  // 0: same as port
  // The backends see the client's own address. The caller passes only this node's tasks (as
  // for mode=host), and the ingress network's gateway must be on the node (see NetworkSpec).
  bool preserve_source = false;

  friend bool operator==(const PublishedPort&, const PublishedPort&) = default;
};

struct Service {
  std::string id;
  std::vector<Frontend> frontends;  // VIPs, balanced over `backends`
  std::vector<Backend> backends;
  std::vector<PublishedPort> published;  // balanced over `ingress_backends`
  std::vector<Backend> ingress_backends;
  std::string scheduler = {};  // IPVS scheduler ("rr" when empty: round robin); eBPF ignores it
  // The network the frontends are VIPs of (the ingress network for published ports). eBPF
  // ignores it; the service plane's IPVS balancer puts a VIP only in the namespaces of the tasks
  // on that network.
  std::string network = {};
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;

  virtual std::string backend_name() const = 0;  // "ebpf", "ipvs"
  // Creates or changes a service: its frontends and, in the same step, its backends.
  virtual Status upsert(const Service& service) = 0;
  virtual Status set_backends(const std::string& service_id, const std::vector<Backend>& backends,
                              const std::vector<Backend>& ingress_backends) = 0;
  virtual Status remove(const std::string& service_id) = 0;
  virtual std::vector<Service> list() const = 0;
};

Status validate_service(const Service& service);

}  // namespace shoal::lb
