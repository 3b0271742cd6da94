// `--network` values, as docker's service create takes them: "NET", or the long syntax
// "name=NET,alias=A[,alias=B]" that gives the service more DNS names on that network.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace shoal::cli {

struct NetworkOpt {
  std::string name;  // name or id
  std::vector<std::string> aliases;
};

// Usage errors name the value and the field. Alias names are checked by the manager.
Result<NetworkOpt> parse_network_opt(const std::string& text);

}  // namespace shoal::cli
