#include "ebpf/tools/service_state.h"

#include <nlohmann/json.hpp>

namespace shoal::ebpf {
namespace {

using nlohmann::json;

Result<uint32_t> number(const json& obj, const std::string& where, const char* key, uint32_t max,
                        std::optional<uint32_t> fallback = std::nullopt) {
  if (!obj.contains(key) && fallback)
    return *fallback;
  if (!obj.contains(key) || !obj[key].is_number_unsigned() || obj[key].get<uint64_t>() > max) {
    return invalid_argument(
        where, std::string("\"") + key + "\" must be an integer from 0 to " + std::to_string(max));
  }
  return static_cast<uint32_t>(obj[key].get<uint64_t>());
}

Result<Ipv4> address(const json& obj, const std::string& where, const char* key) {
  if (!obj.contains(key) || !obj[key].is_string()) {
    return invalid_argument(where, std::string("\"") + key + "\" must be an IPv4 address");
  }
  return Ipv4::parse(obj[key].get<std::string>());
}

Result<lb::Protocol> protocol_of(const json& obj, const std::string& where) {
  const std::string protocol = obj.value("protocol", "tcp");
  if (protocol != "tcp" && protocol != "udp") {
    return invalid_argument(where, "protocol must be tcp or udp, not '" + protocol + "'");
  }
  return protocol == "tcp" ? lb::Protocol::kTcp : lb::Protocol::kUdp;
}

Result<lb::Frontend> parse_frontend(const json& obj, const std::string& where) {
  if (!obj.is_object())
    return invalid_argument(where, "a frontend must be an object");
  lb::Frontend f;
  SHOAL_ASSIGN_OR_RETURN(f.vip, address(obj, where, "vip"));
  SHOAL_ASSIGN_OR_RETURN(uint32_t port, number(obj, where, "port", 65535));
  SHOAL_ASSIGN_OR_RETURN(uint32_t target, number(obj, where, "target_port", 65535, 0));
  f.port = static_cast<uint16_t>(port);
  f.target_port = static_cast<uint16_t>(target);
  SHOAL_ASSIGN_OR_RETURN(f.protocol, protocol_of(obj, where));
  return f;
}

Result<lb::PublishedPort> parse_published(const json& obj, const std::string& where) {
  if (!obj.is_object())
    return invalid_argument(where, "a published port must be an object");
  lb::PublishedPort p;
  SHOAL_ASSIGN_OR_RETURN(uint32_t port, number(obj, where, "port", 65535));
  SHOAL_ASSIGN_OR_RETURN(uint32_t target, number(obj, where, "target_port", 65535, 0));
  p.port = static_cast<uint16_t>(port);
  p.target_port = static_cast<uint16_t>(target);
  SHOAL_ASSIGN_OR_RETURN(p.protocol, protocol_of(obj, where));
  p.preserve_source = obj.value("preserve_source", false);
  return p;
}

Result<lb::Backend> parse_backend(const json& obj, const std::string& where) {
  if (!obj.is_object())
    return invalid_argument(where, "a backend must be an object");
  lb::Backend b;
  SHOAL_ASSIGN_OR_RETURN(b.ip, address(obj, where, "ip"));
  SHOAL_ASSIGN_OR_RETURN(b.weight, number(obj, where, "weight", 1000, 1));
  if (obj.value("draining", false))
    b.state = lb::BackendState::kDraining;
  return b;
}

Result<lb::Service> parse_service(const json& obj) {
  if (!obj.is_object() || !obj.contains("id") || !obj["id"].is_string()) {
    return invalid_argument("service", "must be an object with a string \"id\"");
  }
  lb::Service s;
  s.id = obj["id"].get<std::string>();
  const std::string where = "service " + s.id;
  for (const char* list : {"frontends", "backends", "published", "ingress_backends"}) {
    if (obj.contains(list) && !obj[list].is_array()) {
      return invalid_argument(where, std::string("\"") + list + "\" must be an array");
    }
  }
  for (const json& f : obj.value("frontends", json::array())) {
    SHOAL_ASSIGN_OR_RETURN(lb::Frontend frontend, parse_frontend(f, where));
    s.frontends.push_back(frontend);
  }
  for (const json& b : obj.value("backends", json::array())) {
    SHOAL_ASSIGN_OR_RETURN(lb::Backend backend, parse_backend(b, where));
    s.backends.push_back(backend);
  }
  for (const json& p : obj.value("published", json::array())) {
    SHOAL_ASSIGN_OR_RETURN(lb::PublishedPort port, parse_published(p, where));
    s.published.push_back(port);
  }
  for (const json& b : obj.value("ingress_backends", json::array())) {
    SHOAL_ASSIGN_OR_RETURN(lb::Backend backend, parse_backend(b, where));
    s.ingress_backends.push_back(backend);
  }
  SHOAL_TRY(lb::validate_service(s));
  return s;
}

}  // namespace

Result<std::vector<lb::Service>> parse_services(const std::string& json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return invalid_argument("service state", "is not valid JSON");
  if (!doc.is_object() || !doc.contains("services") || !doc["services"].is_array()) {
    return invalid_argument("service state", "must be an object with a \"services\" array");
  }
  std::vector<lb::Service> services;
  for (const json& item : doc["services"]) {
    SHOAL_ASSIGN_OR_RETURN(lb::Service service, parse_service(item));
    services.push_back(std::move(service));
  }
  return services;
}

}  // namespace shoal::ebpf
