#include "dataplane/dns/dns_records.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace shoal::dataplane::dns {
namespace {

constexpr std::string_view kTasksPrefix = "tasks.";

// Every name a record answers, normalized, without duplicates (an alias equal to the name).
std::vector<std::string> record_names(const ServiceRecord& record) {
  std::vector<std::string> names{normalize_name(record.name)};
  for (const std::string& alias : record.aliases) {
    std::string normalized = normalize_name(alias);
    if (!normalized.empty() && std::find(names.begin(), names.end(), normalized) == names.end())
      names.push_back(std::move(normalized));
  }
  return names;
}

// "web" or "tasks.web": a name only the cluster can mean. The root ("") is not one.
bool is_bare(std::string_view name) {
  if (name.starts_with(kTasksPrefix))
    name.remove_prefix(kTasksPrefix.size());
  return !name.empty() && name.find('.') == std::string_view::npos;
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (name.ends_with('.'))
    name.remove_suffix(1);
  std::string out(name);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status DnsRecords::upsert(ServiceRecord record) {
  const std::string object = "service " + record.service_id + " on network " + record.network_id;
  if (record.service_id.empty() || record.network_id.empty())
    return invalid_argument(object, "service id and network id are required");
  if (normalize_name(record.name).empty())
    return invalid_argument(object, "the service has no name");
  Key key{record.service_id, record.network_id};
  auto existing = records_.find(key);
  if (existing != records_.end()) {
    unbind(key, existing->second);
    existing->second = std::move(record);
    bind(key, existing->second);
  } else {
    auto inserted = records_.emplace(key, std::move(record)).first;
    bind(key, inserted->second);
  }
  return {};
}

void DnsRecords::remove(const std::string& service_id, const std::string& network_id) {
  auto existing = records_.find(Key{service_id, network_id});
  if (existing == records_.end())
    return;
  unbind(existing->first, existing->second);
  records_.erase(existing);
}

void DnsRecords::remove_service(const std::string& service_id) {
  auto it = records_.lower_bound(Key{service_id, ""});
  while (it != records_.end() && it->first.first == service_id) {
    unbind(it->first, it->second);
    it = records_.erase(it);
  }
}

void DnsRecords::bind(const Key& key, const ServiceRecord& record) {
  for (const std::string& name : record_names(record)) {
    bindings_[name].push_back(Binding{key, false});
    bindings_[std::string(kTasksPrefix) + name].push_back(Binding{key, true});
  }
}

void DnsRecords::unbind(const Key& key, const ServiceRecord& record) {
  for (const std::string& base : record_names(record)) {
    for (const std::string& name : {base, std::string(kTasksPrefix) + base}) {
      auto found = bindings_.find(name);
      if (found == bindings_.end())
        continue;
      std::erase_if(found->second, [&](const Binding& b) { return b.key == key; });
      if (found->second.empty())
        bindings_.erase(found);
    }
  }
}

void DnsRecords::append_addresses(const Binding& binding, std::vector<Ipv4>& out) const {
  const ServiceRecord& record = records_.at(binding.key);
  if (!binding.tasks && record.mode == EndpointMode::kVip && record.vip) {
    out.push_back(*record.vip);
    return;
  }
  out.insert(out.end(), record.task_ips.begin(), record.task_ips.end());
}

Lookup DnsRecords::lookup(std::string_view name, const std::vector<std::string>& networks) const {
  const std::string normalized = normalize_name(name);
  auto found = bindings_.find(normalized);
  if (found == bindings_.end())
    return Lookup{is_bare(normalized) ? Lookup::Kind::kNxDomain : Lookup::Kind::kNotOurs, {}};
  Lookup result{Lookup::Kind::kNxDomain, {}};
  size_t matched = 0;
  for (const Binding& binding : found->second) {
    const std::string& network = binding.key.second;
    if (std::find(networks.begin(), networks.end(), network) == networks.end())
      continue;
    result.kind = Lookup::Kind::kAddresses;
    append_addresses(binding, result.addresses);
    ++matched;
  }
  if (matched > 1) {
    // The same address through two bindings (two services sharing an alias, or one service's
    // VIP seen on two networks) is one answer; the first occurrence keeps its place.
    std::set<Ipv4> seen;
    std::erase_if(result.addresses, [&](Ipv4 ip) { return !seen.insert(ip).second; });
  }
  return result;
}

}  // namespace shoal::dataplane::dns
