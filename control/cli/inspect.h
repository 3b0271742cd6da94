// `inspect` output: API objects as JSON (keys in docker's CamelCase; fields as the API has
// them, not docker's nesting, since the objects differ) and docker's --pretty text.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "swarm.pb.h"

namespace shoal::cli {

nlohmann::json to_json(const api::Node& node);
nlohmann::json to_json(const api::Network& network);
nlohmann::json to_json(const api::Service& service);

std::string pretty(const api::Node& node);
std::string pretty(const api::Service& service);

// A JSON array printed as docker prints it: 4-space indent.
std::string dump_array(const nlohmann::json& array);
// JSON text (indent -1: one line). Control characters come out \u-escaped; bytes that are not
// UTF-8 (a node may send any) are replaced with U+FFFD instead of failing the command.
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace shoal::cli
