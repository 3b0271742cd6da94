#include "ipvs/ipvs_lb.h"

#include "ipvs/nft_marks.h"

#include <cstdio>
#include <set>

namespace shoal::ipvs {
namespace {

// Idle established TCP connections live a day in IPVS (its default, 15 minutes, cut long-lived
// idle connections); FIN and UDP keep the kernel's defaults.
constexpr uint32_t kTcpTimeout = 86400;
constexpr uint32_t kTcpFinTimeout = 120;
constexpr uint32_t kUdpTimeout = 300;

std::string hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

const char* proto_name(uint8_t protocol) {
  return protocol == static_cast<uint8_t>(lb::Protocol::kUdp) ? "udp" : "tcp";
}

// The table: three maps from what a new packet is addressed to, to the mark of its IPVS service,
// and the masquerade of what IPVS sends for marks in kMasqueradeMarks. Published ports apply to
// the node's own addresses only, VIP rules come last and so win. The maps are declared, not
// replaced, and the chains flushed and refilled in the same transaction: a table left by an
// earlier run keeps its elements (adopted), and no packet passes between old and new rules.
std::string table_script() {
  const std::string t = std::string("ip ") + kTable;
  const std::string vip_rules[] = {
      "meta l4proto { tcp, udp } meta mark set ip daddr . meta l4proto map @vip_any",
      "meta l4proto { tcp, udp } meta mark set ip daddr . meta l4proto . th dport map @vip_ports"};
  std::string script = "add table " + t + "\ntable " + t +
                       " {\n"
                       "  map vip_ports { type ipv4_addr . inet_proto . inet_service : mark; }\n"
                       "  map vip_any { type ipv4_addr . inet_proto : mark; }\n"
                       "  map published { type inet_proto . inet_service : mark; }\n"
                       "  chain prerouting { type filter hook prerouting priority mangle; policy "
                       "accept; }\n"
                       "  chain output { type route hook output priority mangle; policy accept; }\n"
                       "  chain postrouting { type nat hook postrouting priority srcnat; policy "
                       "accept; }\n"
                       "}\n";
  for (const char* chain : {"prerouting", "output", "postrouting"}) {
    script += "flush chain " + t + " " + chain + "\n";
  }
  script += "add rule " + t +
            " prerouting ct state new fib daddr type local meta l4proto { tcp, udp } meta mark "
            "set meta l4proto . th dport map @published\n";
  for (const std::string& rule : vip_rules) {
    script += "add rule " + t + " prerouting " + rule + "\n";
  }
  for (const std::string& rule : vip_rules) {
    script += "add rule " + t + " output " + rule + "\n";
  }
  script += "add rule " + t + " postrouting meta mark & " + hex(kMarkMask) +
            " == " + hex(kMasqueradeMarks) + " masquerade\n";
  return script;
}

std::string delete_table_script() {
  return std::string("add table ip ") + kTable + "\ndelete table ip " + kTable + "\n";
}

uint32_t weight_of(const lb::Backend& b) {
  return b.state == lb::BackendState::kDraining ? 0 : b.weight;
}

}  // namespace

Result<std::unique_ptr<IpvsLoadBalancer>> IpvsLoadBalancer::create(IpvsKernel& kernel) {
  SHOAL_TRY(kernel.send(config_request(kTcpTimeout, kTcpFinTimeout, kUdpTimeout)));
  std::unique_ptr<IpvsLoadBalancer> balancer(new IpvsLoadBalancer(kernel));
  // No table (the first run) lists as an error: nothing to adopt.
  Result<std::string> listing = kernel.nft_json(std::string("list table ip ") + kTable);
  if (kernel.nft(table_script()).ok()) {
    if (listing.ok())
      SHOAL_TRY(balancer->adopt(*listing));
    return balancer;
  }
  // A table of another layout (an older version): replaced whole, nothing adopted.
  SHOAL_TRY(kernel.nft(delete_table_script() + table_script()));
  return balancer;
}

Status IpvsLoadBalancer::adopt(const std::string& listing) {
  SHOAL_ASSIGN_OR_RETURN(std::vector<MarkedKey> marks, parse_marks(listing));
  std::set<uint32_t> used;
  std::vector<Key> orphans;  // elements whose IPVS service is gone: their marks go too
  for (const MarkedKey& m : marks) {
    const Key key{m.vip, m.port, m.protocol};
    Result<std::vector<DestStats>> dests = kernel_->dests(m.mark);
    if (!dests.ok() || (m.mark & kMaxMarkIds) == 0 || !used.insert(m.mark & kMaxMarkIds).second) {
      orphans.push_back(key);
      continue;
    }
    Target target;
    target.mark = m.mark;
    for (const DestStats& d : *dests) {
      target.backend_port = d.port;
      target.dests[d.ip] = d.weight;
      if (d.weight == 0)
        target.leaving.insert(d.ip);
    }
    targets_.emplace(key, std::move(target));
    if (m.vip != 0)
      ++vip_refs_[m.vip];
  }
  next_id_ = used.empty() ? 1 : *used.rbegin() + 1;
  for (uint32_t id = 1; id < next_id_; ++id) {
    if (!used.contains(id))
      free_ids_.push_back(id);
  }
  if (orphans.empty())
    return {};
  std::string nft_deletes;
  for (const Key& key : orphans) {
    nft_deletes += std::string("delete element ip ") + kTable + " " + map_of(key) + " { " +
                   element(key) + " }\n";
  }
  return kernel_->nft(nft_deletes);
}

// An adopted target named again: it keeps its mark and destinations. IPVS is not asked for the
// scheduler: the claimant's is taken as the one in place. Without destinations the backend port
// cannot be read back, so the claimant's is taken too.
void IpvsLoadBalancer::claim(Target& target, const Wanted& wanted, const std::string& owner,
                             const std::string& scheduler) {
  target.owner = owner;
  target.scheduler = scheduler;
  if (target.dests.empty())
    target.backend_port = wanted.backend_port;
}

size_t IpvsLoadBalancer::unclaimed() const {
  size_t n = 0;
  for (const auto& [key, target] : targets_) {
    n += target.owner.empty() ? 1 : 0;
  }
  return n;
}

Status IpvsLoadBalancer::prune() {
  std::vector<Key> keys;
  for (const auto& [key, target] : targets_) {
    if (target.owner.empty())
      keys.push_back(key);
  }
  return drop_keys(keys);
}

// Marks first (one nft transaction: no new packet gets them), then the IPVS services.
Status IpvsLoadBalancer::drop_keys(const std::vector<Key>& keys) {
  std::string nft_deletes;
  for (const Key& key : keys) {
    nft_deletes += std::string("delete element ip ") + kTable + " " + map_of(key) + " { " +
                   element(key) + " }\n";
  }
  if (!nft_deletes.empty()) {
    SHOAL_TRY(kernel_->nft(nft_deletes));
  }
  for (const Key& key : keys) {
    SHOAL_TRY(drop_target(key));
  }
  return {};
}

std::vector<IpvsLoadBalancer::Wanted> IpvsLoadBalancer::wanted_of(const lb::Service& service) {
  std::vector<Wanted> wanted;
  for (const lb::Frontend& f : service.frontends) {
    const uint16_t backend_port = f.target_port != 0 ? f.target_port : f.port;
    wanted.push_back({{f.vip.host_order(), f.port, static_cast<uint8_t>(f.protocol)},
                      kMasqueradeMarks,
                      backend_port,
                      &service.backends});
  }
  for (const lb::PublishedPort& p : service.published) {
    const uint16_t backend_port = p.target_port != 0 ? p.target_port : p.port;
    wanted.push_back({{0, p.port, static_cast<uint8_t>(p.protocol)},
                      p.preserve_source ? kPreserveMarks : kMasqueradeMarks,
                      backend_port,
                      &service.ingress_backends});
  }
  return wanted;
}

std::string IpvsLoadBalancer::describe(const Key& key) {
  const auto& [vip, port, protocol] = key;
  const std::string where = vip == 0 ? "published port " : Ipv4(vip).str() + ":";
  return where + (port == 0 ? "*" : std::to_string(port)) + "/" + proto_name(protocol);
}

const char* IpvsLoadBalancer::map_of(const Key& key) {
  const auto& [vip, port, protocol] = key;
  return vip == 0 ? "published" : port == 0 ? "vip_any" : "vip_ports";
}

std::string IpvsLoadBalancer::element(const Key& key) {
  const auto& [vip, port, protocol] = key;
  if (vip == 0) {
    return std::string(proto_name(protocol)) + " . " + std::to_string(port);
  }
  std::string text = Ipv4(vip).str() + " . " + proto_name(protocol);
  return port == 0 ? text : text + " . " + std::to_string(port);
}

Result<uint32_t> IpvsLoadBalancer::allocate_id() {
  if (!free_ids_.empty()) {
    const uint32_t id = free_ids_.back();
    free_ids_.pop_back();
    return id;
  }
  if (next_id_ > kMaxMarkIds) {
    return invalid_argument("IPVS load balancer", "no firewall mark left");
  }
  return next_id_++;
}

Status IpvsLoadBalancer::sync_dests(Target& target, const std::vector<lb::Backend>& backends) {
  std::map<Ipv4, uint32_t> want;
  for (const lb::Backend& b : backends) {
    want[b.ip] = weight_of(b);
  }
  Request r = dest_request(Command::kSetDest, target.mark, Ipv4(), target.backend_port);
  for (auto& [ip, weight] : target.dests) {
    if (want.count(ip) != 0 || target.leaving.count(ip) != 0) {
      continue;
    }
    if (weight != 0) {  // drained: from here on it gets no new connection
      r.dest = ip;
      r.weight = 0;
      SHOAL_TRY(kernel_->send(r));
      weight = 0;
    }
    target.leaving.insert(ip);
  }
  for (const auto& [ip, weight] : want) {
    target.leaving.erase(ip);
    auto found = target.dests.find(ip);
    if (found != target.dests.end() && found->second == weight) {
      continue;
    }
    r.command = found == target.dests.end() ? Command::kNewDest : Command::kSetDest;
    r.dest = ip;
    r.weight = weight;
    SHOAL_TRY(kernel_->send(r));
    target.dests[ip] = weight;
  }
  return {};
}

Status IpvsLoadBalancer::sweep() {
  for (auto& [key, target] : targets_) {
    if (target.leaving.empty()) {
      continue;
    }
    SHOAL_ASSIGN_OR_RETURN(std::vector<DestStats> stats, kernel_->dests(target.mark));
    std::map<Ipv4, uint32_t> active;
    for (const DestStats& d : stats) {
      active[d.ip] = d.active;
    }
    for (auto it = target.leaving.begin(); it != target.leaving.end();) {
      if (active[*it] != 0) {
        ++it;
        continue;
      }
      SHOAL_TRY(
          kernel_->send(dest_request(Command::kDelDest, target.mark, *it, target.backend_port)));
      target.dests.erase(*it);
      it = target.leaving.erase(it);
    }
  }
  return {};
}

Status IpvsLoadBalancer::add_target(const Wanted& wanted, const std::string& owner,
                                    const std::string& scheduler, std::string& nft_adds) {
  SHOAL_ASSIGN_OR_RETURN(uint32_t id, allocate_id());
  Target target{wanted.mark_base | id, wanted.backend_port, scheduler, owner, {}, {}};
  Status created = kernel_->send(service_request(Command::kNewService, target.mark, scheduler));
  if (!created.ok()) {
    free_ids_.push_back(id);
    return created;
  }
  auto [it, inserted] = targets_.emplace(wanted.key, std::move(target));
  SHOAL_TRY(sync_dests(it->second, *wanted.backends));
  const uint32_t vip = std::get<0>(wanted.key);
  if (vip != 0 && vip_refs_[vip]++ == 0) {
    SHOAL_TRY(kernel_->add_vip(Ipv4(vip)));
  }
  nft_adds += std::string("add element ip ") + kTable + " " + map_of(wanted.key) + " { " +
              element(wanted.key) + " : " + hex(it->second.mark) + " }\n";
  return {};
}

Status IpvsLoadBalancer::release_vip(uint32_t vip) {
  auto it = vip_refs_.find(vip);
  if (vip == 0 || it == vip_refs_.end() || --it->second > 0) {
    return {};
  }
  vip_refs_.erase(it);
  return kernel_->remove_vip(Ipv4(vip));
}

// Called after the nftables elements of the key are gone: no new packet gets its mark.
Status IpvsLoadBalancer::drop_target(const Key& key) {
  auto it = targets_.find(key);
  if (it == targets_.end()) {
    return {};
  }
  SHOAL_TRY(kernel_->send(service_request(Command::kDelService, it->second.mark)));
  free_ids_.push_back(it->second.mark & kMaxMarkIds);
  targets_.erase(it);
  return release_vip(std::get<0>(key));
}

Status IpvsLoadBalancer::upsert(const lb::Service& service) {
  SHOAL_TRY(lb::validate_service(service));
  const std::string scheduler = service.scheduler.empty() ? "rr" : service.scheduler;
  const std::vector<Wanted> wanted = wanted_of(service);
  std::set<Key> keep;
  for (const Wanted& w : wanted) {
    auto it = targets_.find(w.key);
    if (it != targets_.end() && it->second.owner.empty()) {
      claim(it->second, w, service.id, scheduler);
    }
    if (it != targets_.end() && it->second.owner != service.id) {
      return invalid_argument("service " + service.id,
                              describe(w.key) + " belongs to service " + it->second.owner);
    }
    if (it != targets_.end() && it->second.backend_port == w.backend_port &&
        it->second.scheduler == scheduler && (it->second.mark & ~kMaxMarkIds) == w.mark_base) {
      keep.insert(w.key);
    }
  }
  // Targets of this service that go or change: their marks first, then their IPVS services.
  std::vector<Key> stale;
  for (const auto& [key, target] : targets_) {
    if (target.owner == service.id && keep.count(key) == 0) {
      stale.push_back(key);
    }
  }
  SHOAL_TRY(drop_keys(stale));
  services_[service.id] = service;
  std::string nft_adds;
  for (const Wanted& w : wanted) {
    if (keep.count(w.key) != 0) {
      SHOAL_TRY(sync_dests(targets_.at(w.key), *w.backends));
    } else {
      SHOAL_TRY(add_target(w, service.id, scheduler, nft_adds));
    }
  }
  if (!nft_adds.empty()) {
    SHOAL_TRY(kernel_->nft(nft_adds));
  }
  return sweep();
}

Status IpvsLoadBalancer::set_backends(const std::string& service_id,
                                      const std::vector<lb::Backend>& backends,
                                      const std::vector<lb::Backend>& ingress_backends) {
  auto it = services_.find(service_id);
  if (it == services_.end()) {
    return invalid_argument("service " + service_id, "not known to the IPVS load balancer");
  }
  lb::Service changed = it->second;
  changed.backends = backends;
  changed.ingress_backends = ingress_backends;
  return upsert(changed);
}

Status IpvsLoadBalancer::remove(const std::string& service_id) {
  std::vector<Key> owned;
  for (const auto& [key, target] : targets_) {
    if (target.owner == service_id) {
      owned.push_back(key);
    }
  }
  SHOAL_TRY(drop_keys(owned));
  services_.erase(service_id);
  return {};
}

std::vector<lb::Service> IpvsLoadBalancer::list() const {
  std::vector<lb::Service> all;
  for (const auto& [id, service] : services_) {
    all.push_back(service);
  }
  return all;
}

Status IpvsLoadBalancer::teardown() {
  std::vector<std::string> ids;
  for (const auto& [id, service] : services_) {
    ids.push_back(id);
  }
  for (const std::string& id : ids) {
    SHOAL_TRY(remove(id));
  }
  SHOAL_TRY(prune());
  SHOAL_TRY(kernel_->nft(delete_table_script()));
  return kernel_->remove_vip_link();
}

}  // namespace shoal::ipvs
