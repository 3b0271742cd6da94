// Reading typed values out of yaml-cpp nodes with errors that name the key path, for the
// compose parser (internal to control/stack).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace shoal::stack {

class YamlReader {
 public:
  void error(const std::string& path, const std::string& message) {
    errors.push_back(path + ": " + message);
  }
  void warn(const std::string& path, const std::string& message) {
    warnings.push_back(path + ": " + message);
  }

  // A scalar as text (numbers and booleans as written).
  std::optional<std::string> text(const YAML::Node& node, const std::string& path);
  std::optional<uint64_t> count(const YAML::Node& node, const std::string& path);
  std::optional<double> ratio(const YAML::Node& node, const std::string& path);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& path);
  // A Go duration ("10s", "1m30s") in milliseconds.
  std::optional<uint64_t> duration_ms(const YAML::Node& node, const std::string& path);
  // A sequence of scalars.
  std::optional<std::vector<std::string>> strings(const YAML::Node& node, const std::string& path);
  // A string (shell-split) or a sequence of strings.
  std::optional<std::vector<std::string>> words(const YAML::Node& node, const std::string& path);
  // A mapping with string keys, in file order; nullopt (and an error) if not a mapping.
  std::optional<std::vector<std::pair<std::string, YAML::Node>>> entries(const YAML::Node& node,
                                                                         const std::string& path);
  // Labels: a mapping or a list of KEY=VALUE.
  std::optional<std::map<std::string, std::string>> labels(const YAML::Node& node,
                                                           const std::string& path);

  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

}  // namespace shoal::stack
