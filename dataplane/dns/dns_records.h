// The names the embedded DNS answers for: one record per (service, network), as the service
// endpoint table of gossip carries them, and a lookup scoped to the networks of the asker.
//
// A record makes these names answer on its network (all lower-cased: DNS names are
// case-insensitive):
//   <name>, <alias>...              the VIP (endpoint mode vip) or the task IPs (mode dnsrr, or a
//                                   vip-mode service that has no VIP on this network)
//   tasks.<name>, tasks.<alias>...  the task IPs
// A lookup gathers the records bound to the name on the networks the asker is attached to. A name
// bound only on other networks is NXDOMAIN (never forwarded: the upstream would either not know it
// or, worse, resolve it to something else). So is a bare name (no dot: "web") or tasks.<bare name>
// that nothing binds: service names are bare, and sending them upstream would leak the cluster's
// names to the node's resolvers for nothing (dnsmasq's --domain-needed, for the same reason); it
// also makes a removed service NXDOMAIN whatever the upstream says. Any other name is not ours and
// goes upstream.
//
// Pure data: no I/O, no clock, no locks. The server owns one and touches it from one thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::dataplane::dns {

enum class EndpointMode { kVip, kDnsrr };

struct ServiceRecord {
  std::string service_id;
  std::string network_id;
  std::string name;
  std::vector<std::string> aliases;
  std::optional<Ipv4> vip;     // the service's VIP on network_id (endpoint mode vip)
  std::vector<Ipv4> task_ips;  // the running tasks' IPs on network_id
  EndpointMode mode = EndpointMode::kVip;
};

struct Lookup {
  enum class Kind {
    kAddresses,  // a name of ours, visible to the asker; addresses may be empty (no running task)
    kNxDomain,   // a name of ours on no network the asker shares, or an unbound bare name
    kNotOurs,    // unknown here: for the upstream resolvers
  };
  Kind kind = Kind::kNotOurs;
  std::vector<Ipv4> addresses;
};

// Lower-cases and drops one trailing dot: "Web.App." -> "web.app".
std::string normalize_name(std::string_view name);

class DnsRecords {
 public:
  // Adds or replaces the record of (service_id, network_id).
  Status upsert(ServiceRecord record);
  // Removes the record of (service_id, network_id); nothing when there is none.
  void remove(const std::string& service_id, const std::string& network_id);
  // Removes the service's records on every network.
  void remove_service(const std::string& service_id);

  // name is in any case, with or without the trailing dot.
  Lookup lookup(std::string_view name, const std::vector<std::string>& networks) const;

  size_t size() const { return records_.size(); }
  size_t names() const { return bindings_.size(); }

 private:
  using Key = std::pair<std::string, std::string>;  // (service id, network id)
  struct Binding {
    Key key;
    bool tasks;  // tasks.<name>: task IPs whatever the endpoint mode
  };

  void bind(const Key& key, const ServiceRecord& record);
  void unbind(const Key& key, const ServiceRecord& record);
  void append_addresses(const Binding& binding, std::vector<Ipv4>& out) const;

  std::map<Key, ServiceRecord> records_;
  std::unordered_map<std::string, std::vector<Binding>> bindings_;  // by normalized name
};

}  // namespace shoal::dataplane::dns
