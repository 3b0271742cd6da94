#include "ipvs/nft_marks.h"

#include <nlohmann/json.hpp>

#include "common/net_types.h"

namespace shoal::ipvs {
namespace {

using nlohmann::json;

// nft prints a protocol by name (tcp, udp) and, for names it lacks, by number.
Result<uint8_t> protocol_of(const json& value) {
  if (value.is_number_unsigned())
    return static_cast<uint8_t>(value.get<unsigned>());
  if (value.is_string() && value == "tcp")
    return uint8_t{6};
  if (value.is_string() && value == "udp")
    return uint8_t{17};
  return invalid_argument("nftables element", "unknown protocol " + value.dump());
}

Result<MarkedKey> element_of(const std::string& map, const json& elem) {
  if (!elem.is_array() || elem.size() != 2 || !elem[1].is_number_unsigned())
    return invalid_argument("nftables element", "not [key, mark]: " + elem.dump());
  const json& key = elem[0].is_object() && elem[0].contains("concat") ? elem[0]["concat"] : elem[0];
  const size_t want = map == "vip_ports" ? 3 : 2;
  if (!key.is_array() || key.size() != want)
    return invalid_argument("nftables element", "unexpected key in " + map + ": " + elem.dump());
  MarkedKey out;
  out.mark = elem[1].get<uint32_t>();
  size_t at = 0;
  if (map != "published") {
    if (!key[0].is_string())
      return invalid_argument("nftables element", "no address in " + elem.dump());
    SHOAL_ASSIGN_OR_RETURN(Ipv4 vip, Ipv4::parse(key[0].get<std::string>()));
    out.vip = vip.host_order();
    at = 1;
  }
  SHOAL_ASSIGN_OR_RETURN(out.protocol, protocol_of(key[at]));
  if (map != "vip_any") {
    if (!key[at + 1].is_number_unsigned())
      return invalid_argument("nftables element", "no port in " + elem.dump());
    out.port = static_cast<uint16_t>(key[at + 1].get<unsigned>());
  }
  return out;
}

}  // namespace

Result<std::vector<MarkedKey>> parse_marks(const std::string& text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables") || !doc["nftables"].is_array())
    return invalid_argument("nftables listing", "is not nft's JSON output");
  std::vector<MarkedKey> marks;
  for (const json& object : doc["nftables"]) {
    if (!object.contains("map"))
      continue;
    const json& map = object["map"];
    const std::string name = map.value("name", "");
    if (name != "vip_ports" && name != "vip_any" && name != "published")
      continue;
    if (!map.contains("elem"))
      continue;
    for (const json& elem : map["elem"]) {
      SHOAL_ASSIGN_OR_RETURN(MarkedKey key, element_of(name, elem));
      marks.push_back(key);
    }
  }
  return marks;
}

}  // namespace shoal::ipvs
