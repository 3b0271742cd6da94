#include "control/cli/network_opt.h"

#include <sstream>

#include "control/cli/client.h"

namespace shoal::cli {

Result<NetworkOpt> parse_network_opt(const std::string& text) {
  NetworkOpt opt;
  auto bad = [&](const std::string& why) {
    return usage_error("invalid --network \"" + text + "\": " + why);
  };
  if (text.find('=') == std::string::npos) {
    if (text.empty())
      return bad("empty");
    opt.name = text;
    return opt;
  }
  std::istringstream fields(text);
  for (std::string field; std::getline(fields, field, ',');) {
    const size_t eq = field.find('=');
    if (eq == std::string::npos)
      return bad("expected KEY=VALUE fields, got \"" + field + "\"");
    const std::string key = field.substr(0, eq);
    const std::string value = field.substr(eq + 1);
    if (key == "name") {
      opt.name = value;
    } else if (key == "alias") {
      if (value.empty())
        return bad("alias is empty");
      opt.aliases.push_back(value);
    } else if (key == "driver-opt" || key == "ip" || key == "ip6" || key == "link-local-ip" ||
               key == "mac-address") {
      return bad(key + " is not supported");
    } else {
      return bad("unknown field \"" + key + "\" (expected name or alias)");
    }
  }
  if (opt.name.empty())
    return bad("name is required");
  return opt;
}

}  // namespace shoal::cli
