// Turns the service endpoint table (one row per task per network, as gossip carries it) into what
// this node's load balancer and embedded DNS must hold.
//
// For each service, and each network of this node on which the service has tasks:
//   - a load-balancer service "<service>/<network>": the VIP on that network, every port, over
//     the running tasks' addresses on that network;
//   - DNS names on that network (VIP, or task addresses for dnsrr).
// For the ingress network: a load-balancer service "<service>/ingress" with the published ports
// over the running tasks' ingress addresses; a port in mode=host, or one that keeps the client's
// address, gets this node's own tasks only. Only running tasks receive traffic: a task reported
// stopping is out of rotation at once, before it is signalled.
//
// Pure logic over two narrow sinks; whatever produces rows (the gossip watch API, a test) calls
// upsert/remove and every affected service is recomputed whole.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/dns/dns_records.h"
#include "dataplane/lb/load_balancer.h"

namespace shoal::agent {

enum class PublishMode { kIngress, kHost };

struct PublishedPortRecord {
  uint16_t port = 0;
  uint16_t target_port = 0;
  lb::Protocol protocol = lb::Protocol::kTcp;
  PublishMode mode = PublishMode::kIngress;
  bool preserve_source = false;
};

struct EndpointRecord {
  std::string service_id;
  std::string service_name;
  std::vector<std::string> aliases;
  std::string network_id;
  std::optional<Ipv4> vip;  // the service's VIP on this network (endpoint mode vip)
  dataplane::dns::EndpointMode mode = dataplane::dns::EndpointMode::kVip;
  std::vector<PublishedPortRecord> published;
  std::string task_id;
  Ipv4 task_ip;  // the task's address on this network
  bool running = false;
  bool local = false;  // the task runs on this node
};

// Where the DNS names go (the node's DnsServer in the agent, a recorder in tests).
class DnsSink {
 public:
  virtual ~DnsSink() = default;
  virtual Status upsert_service(dataplane::dns::ServiceRecord record) = 0;
  virtual void remove_service(const std::string& service_id, const std::string& network_id) = 0;
};

class ServiceFeed {
 public:
  ServiceFeed(std::string ingress_network, lb::LoadBalancer& balancer, DnsSink& dns)
      : ingress_network_(std::move(ingress_network)), balancer_(&balancer), dns_(&dns) {}

  Status upsert(const EndpointRecord& record);
  Status remove(const std::string& service_id, const std::string& network_id,
                const std::string& task_id);
  // The ingress network becomes known (or changes): what was programmed for the rows of the old
  // and the new ingress network is withdrawn and recomputed under the new role.
  Status set_ingress_network(std::string network_id);
  const std::string& ingress_network() const { return ingress_network_; }

 private:
  using Key = std::tuple<std::string, std::string>;  // network, task
  Status refresh(const std::string& service_id, const std::string& network_id);
  Status refresh_network(const std::string& service_id, const std::string& network_id,
                         const std::vector<const EndpointRecord*>& rows);
  Status refresh_ingress(const std::string& service_id,
                         const std::vector<const EndpointRecord*>& rows);

  std::string ingress_network_;
  lb::LoadBalancer* balancer_;
  DnsSink* dns_;
  std::map<std::string, std::map<Key, EndpointRecord>> rows_;  // by service
};

}  // namespace shoal::agent
