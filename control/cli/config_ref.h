// `--config` values, as docker's service create takes them: "NAME" (target /NAME) or
// "source=NAME,target=/path,mode=0440" (also src=, uid/gid refused: tasks run as root).
#pragma once

#include <string>

#include "common/result.h"
#include "swarm.pb.h"

namespace shoal::cli {

Result<api::ConfigReference> parse_config_ref(const std::string& text);

// Standard base64 (RFC 4648, with padding): docker shows a config's data so in inspect.
std::string base64(const std::string& bytes);

}  // namespace shoal::cli
