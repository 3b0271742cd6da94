// Docker's long option syntax, "key=value,key=value" (--network, --config, --mount ...).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace shoal::cli {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// The fields in order. The error's detail says which field is not KEY=VALUE.
Result<KeyValues> split_key_values(const std::string& text);

}  // namespace shoal::cli
