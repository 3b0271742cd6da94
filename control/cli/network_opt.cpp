#include "control/cli/network_opt.h"

#include "control/cli/client.h"
#include "control/cli/key_values.h"

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
  auto fields = split_key_values(text);
  if (!fields.ok())
    return bad(fields.error().detail);
  for (const auto& [key, value] : *fields) {
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
