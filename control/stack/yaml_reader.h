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

// Bounds on the tree a compose file may describe, checked before anything walks it. yaml-cpp
// keeps an alias as a second reference to its anchor's node, so a few hundred bytes of nested
// anchors ("billion laughs") describe a tree of millions of nodes, and every later walk
// (substitution, parsing) visits each of them. 100,000 nodes is far above any real stack (a
// service is a few dozen) and takes milliseconds to count; the depth bound keeps the walkers'
// recursion off the end of the stack (and stops an alias that refers into itself).
inline constexpr size_t kMaxComposeNodes = 100'000;
inline constexpr size_t kMaxComposeDepth = 64;

// "" when `root`, with every alias expanded, has at most kMaxComposeNodes nodes nested at most
// kMaxComposeDepth deep; otherwise the error naming the limit. Stops counting at the limit, so
// it costs at most kMaxComposeNodes steps whatever the file.
std::string check_expansion_limits(const YAML::Node& root);

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
