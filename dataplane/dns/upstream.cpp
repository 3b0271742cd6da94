#include "dataplane/dns/upstream.h"

#include <charconv>

#include "dataplane/dns/ldns_ptr.h"

namespace shoal::dataplane::dns {

Result<UpstreamServer> UpstreamServer::parse(std::string_view text) {
  UpstreamServer server;
  std::string_view ip_text = text;
  if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    ip_text = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return invalid_argument(std::string(text), "port must be 1-65535");
    }
    server.port = static_cast<uint16_t>(port);
  }
  SHOAL_ASSIGN_OR_RETURN(server.ip, Ipv4::parse(ip_text));
  return server;
}

std::string UpstreamServer::str() const {
  return ip.str() + ":" + std::to_string(port);
}

Result<std::vector<UpstreamServer>> upstreams_from_resolv_conf(const std::string& path) {
  ldns_resolver* raw = nullptr;
  const ldns_status status = ldns_resolver_new_frm_file(&raw, path.c_str());
  ResolverPtr resolver(raw);
  if (status != LDNS_STATUS_OK)
    return Error{"read resolv.conf", path, 0, ldns_get_errorstr_by_id(status)};
  std::vector<UpstreamServer> servers;
  ldns_rdf** nameservers = ldns_resolver_nameservers(resolver.get());
  for (size_t i = 0; i < ldns_resolver_nameserver_count(resolver.get()); ++i) {
    const ldns_rdf* address = nameservers[i];
    if (ldns_rdf_get_type(address) != LDNS_RDF_TYPE_A || ldns_rdf_size(address) != 4)
      continue;
    const uint8_t* b = ldns_rdf_data(address);
    const Ipv4 ip((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
    if (ip == Ipv4((127u << 24) | 11u))
      continue;
    servers.push_back(UpstreamServer{ip, 53});
  }
  return servers;
}

}  // namespace shoal::dataplane::dns
