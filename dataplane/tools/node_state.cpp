#include "dataplane/tools/node_state.h"

#include <nlohmann/json.hpp>

namespace shoal::dataplane {
namespace {

using nlohmann::json;

Result<std::string> text_field(const json& obj, const std::string& where, const char* key,
                               bool required = true) {
  if (!obj.contains(key) || obj[key].is_null()) {
    if (required) {
      return invalid_argument(where, std::string("missing \"") + key + "\"");
    }
    return std::string();
  }
  if (!obj[key].is_string()) {
    return invalid_argument(where, std::string("\"") + key + "\" must be a string");
  }
  return obj[key].get<std::string>();
}

Result<uint32_t> number_field(const json& obj, const std::string& where, const char* key) {
  if (!obj.contains(key) || !obj[key].is_number_unsigned() ||
      obj[key].get<uint64_t>() > 0xffffffffu) {
    return invalid_argument(where, std::string("\"") + key + "\" must be a non-negative integer");
  }
  return static_cast<uint32_t>(obj[key].get<uint64_t>());
}

Result<bool> flag(const json& obj, const std::string& where, const char* key, bool fallback) {
  if (!obj.contains(key)) {
    return fallback;
  }
  if (!obj[key].is_boolean()) {
    return invalid_argument(where, std::string("\"") + key + "\" must be true or false");
  }
  return obj[key].get<bool>();
}

Result<std::optional<Mac>> optional_mac(const json& obj, const std::string& where) {
  SHOAL_ASSIGN_OR_RETURN(std::string text, text_field(obj, where, "mac", false));
  if (text.empty()) {
    return std::optional<Mac>();
  }
  SHOAL_ASSIGN_OR_RETURN(Mac mac, Mac::parse(text));
  return std::optional<Mac>(mac);
}

Result<EndpointSpec> parse_endpoint(const json& obj, const std::string& network_id) {
  const std::string where = "endpoint of network " + network_id;
  if (!obj.is_object())
    return invalid_argument(where, "must be an object");
  EndpointSpec endpoint;
  endpoint.network_id = network_id;
  SHOAL_ASSIGN_OR_RETURN(endpoint.id, text_field(obj, where, "id"));
  SHOAL_ASSIGN_OR_RETURN(std::string ip, text_field(obj, where, "ip"));
  SHOAL_ASSIGN_OR_RETURN(endpoint.ip, Ipv4::parse(ip));
  SHOAL_ASSIGN_OR_RETURN(endpoint.netns, text_field(obj, where, "netns", false));
  SHOAL_ASSIGN_OR_RETURN(std::string ifname, text_field(obj, where, "ifname", false));
  if (!ifname.empty())
    endpoint.ifname = ifname;
  SHOAL_ASSIGN_OR_RETURN(endpoint.mac, optional_mac(obj, where));
  SHOAL_ASSIGN_OR_RETURN(endpoint.default_route, flag(obj, where, "default_route", true));
  SHOAL_ASSIGN_OR_RETURN(endpoint.holds_gateway, flag(obj, where, "holds_gateway", false));
  return endpoint;
}

Result<PeerSpec> parse_peer(const json& obj, const std::string& network_id) {
  const std::string where = "peer of network " + network_id;
  if (!obj.is_object())
    return invalid_argument(where, "must be an object");
  PeerSpec peer;
  peer.network_id = network_id;
  SHOAL_ASSIGN_OR_RETURN(std::string ip, text_field(obj, where, "ip"));
  SHOAL_ASSIGN_OR_RETURN(peer.ip, Ipv4::parse(ip));
  SHOAL_ASSIGN_OR_RETURN(std::string vtep, text_field(obj, where, "vtep"));
  SHOAL_ASSIGN_OR_RETURN(peer.vtep, Ipv4::parse(vtep));
  SHOAL_ASSIGN_OR_RETURN(std::optional<Mac> mac, optional_mac(obj, where));
  peer.mac = mac.value_or(Mac::from_ipv4(peer.ip));
  return peer;
}

Result<NetworkState> parse_network(const json& obj) {
  if (!obj.is_object())
    return invalid_argument("network", "must be an object");
  NetworkState state;
  NetworkSpec& spec = state.spec;
  SHOAL_ASSIGN_OR_RETURN(spec.id, text_field(obj, "network", "id"));
  const std::string where = "network " + spec.id;
  SHOAL_ASSIGN_OR_RETURN(spec.vni, number_field(obj, where, "vni"));
  SHOAL_ASSIGN_OR_RETURN(std::string subnet, text_field(obj, where, "subnet"));
  SHOAL_ASSIGN_OR_RETURN(spec.subnet, Ipv4Prefix::parse(subnet));
  SHOAL_ASSIGN_OR_RETURN(std::string gateway, text_field(obj, where, "gateway"));
  SHOAL_ASSIGN_OR_RETURN(spec.gateway, Ipv4::parse(gateway));
  if (obj.contains("mtu") && !obj["mtu"].is_null()) {
    SHOAL_ASSIGN_OR_RETURN(uint32_t mtu, number_field(obj, where, "mtu"));
    spec.mtu = mtu;
  }
  SHOAL_ASSIGN_OR_RETURN(spec.gateway_on_bridge, flag(obj, where, "gateway_on_bridge", true));
  for (const char* list : {"endpoints", "peers"}) {
    if (obj.contains(list) && !obj[list].is_array()) {
      return invalid_argument(where, std::string("\"") + list + "\" must be an array");
    }
  }
  for (const json& item : obj.value("endpoints", json::array())) {
    SHOAL_ASSIGN_OR_RETURN(EndpointSpec endpoint, parse_endpoint(item, spec.id));
    state.endpoints.push_back(std::move(endpoint));
  }
  for (const json& item : obj.value("peers", json::array())) {
    SHOAL_ASSIGN_OR_RETURN(PeerSpec peer, parse_peer(item, spec.id));
    state.peers.push_back(std::move(peer));
  }
  return state;
}

}  // namespace

Result<NodeState> parse_node_state(const std::string& json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return invalid_argument("node state", "is not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("networks") || !doc["networks"].is_array()) {
    return invalid_argument("node state", "must be an object with a \"networks\" array");
  }
  NodeState state;
  for (const json& item : doc["networks"]) {
    SHOAL_ASSIGN_OR_RETURN(NetworkState network, parse_network(item));
    state.networks.push_back(std::move(network));
  }
  return state;
}

}  // namespace shoal::dataplane
