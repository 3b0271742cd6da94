// One entry of a compose file's `services:` (internal to control/stack; see compose.h).
#pragma once

#include <optional>
#include <string>

#include "control/stack/compose.h"
#include "control/stack/yaml_reader.h"

namespace shoal::stack {

// The spec names networks and configs by their compose keys ("default" for a service with no
// `networks:`); the caller maps keys to full names.
std::optional<StackService> parse_service(YamlReader& reader, const std::string& key,
                                          const YAML::Node& node, const ComposeOptions& options);

}  // namespace shoal::stack
