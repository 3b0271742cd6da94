#include "control/stack/yaml_reader.h"

#include <charconv>

#include "common/duration.h"
#include "control/stack/compose.h"

namespace shoal::stack {

namespace {

// Counts nodes into `seen` depth first; false as soon as a limit is passed.
bool count_nodes(const YAML::Node& node, size_t depth, size_t& seen, std::string& error) {
  if (++seen > kMaxComposeNodes) {
    error = "the file expands to more than " + std::to_string(kMaxComposeNodes) +
            " YAML nodes once its aliases are expanded (an alias bomb?)";
    return false;
  }
  if (depth > kMaxComposeDepth) {
    error = "the file nests deeper than " + std::to_string(kMaxComposeDepth) +
            " levels once its aliases are expanded";
    return false;
  }
  if (node.IsSequence()) {
    for (const auto& child : node) {
      if (!count_nodes(child, depth + 1, seen, error))
        return false;
    }
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      if (!count_nodes(entry.first, depth + 1, seen, error) ||
          !count_nodes(entry.second, depth + 1, seen, error))
        return false;
    }
  }
  return true;
}

}  // namespace

std::string check_expansion_limits(const YAML::Node& root) {
  size_t seen = 0;
  std::string error;
  count_nodes(root, 0, seen, error);
  return error;
}

std::optional<std::string> YamlReader::text(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    error(path, "expected a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<uint64_t> YamlReader::count(const YAML::Node& node, const std::string& path) {
  auto value = node.IsScalar() ? std::optional(node.Scalar()) : std::nullopt;
  uint64_t n = 0;
  if (value) {
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (!value->empty() && ec == std::errc() && end == value->data() + value->size())
      return n;
  }
  error(path, "expected a non-negative integer");
  return std::nullopt;
}

std::optional<double> YamlReader::ratio(const YAML::Node& node, const std::string& path) {
  double value = 0;
  if (node.IsScalar() && YAML::convert<double>::decode(node, value) && value >= 0 && value <= 1)
    return value;
  error(path, "expected a number from 0 to 1");
  return std::nullopt;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    const std::string& v = node.Scalar();
    if (v == "true" || v == "True" || v == "TRUE")
      return true;
    if (v == "false" || v == "False" || v == "FALSE")
      return false;
  }
  error(path, "expected true or false");
  return std::nullopt;
}

std::optional<uint64_t> YamlReader::duration_ms(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    auto parsed = parse_duration(node.Scalar());
    if (parsed.ok() && parsed->count() >= 0)
      return static_cast<uint64_t>(parsed->count());
  }
  error(path, "expected a duration such as 10s, 1m30s or 500ms");
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::strings(const YAML::Node& node,
                                                            const std::string& path) {
  if (!node.IsSequence()) {
    error(path, "expected a list");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    auto value = text(node[i], path + "[" + std::to_string(i) + "]");
    if (!value)
      return std::nullopt;
    out.push_back(*value);
  }
  return out;
}

std::optional<std::vector<std::string>> YamlReader::words(const YAML::Node& node,
                                                          const std::string& path) {
  if (node.IsScalar()) {
    auto split = split_command(node.Scalar());
    if (!split)
      error(path, "unterminated quote");
    return split;
  }
  if (node.IsSequence())
    return strings(node, path);
  error(path, "expected a string or a list of strings");
  return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, YAML::Node>>> YamlReader::entries(
    const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    error(path, "expected a mapping");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, YAML::Node>> out;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      error(path, "keys must be strings");
      return std::nullopt;
    }
    out.emplace_back(entry.first.Scalar(), entry.second);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> YamlReader::labels(const YAML::Node& node,
                                                                     const std::string& path) {
  std::map<std::string, std::string> out;
  if (node.IsSequence()) {
    auto list = strings(node, path);
    if (!list)
      return std::nullopt;
    for (const auto& item : *list) {
      const size_t eq = item.find('=');
      out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    }
    return out;
  }
  auto map = entries(node, path);
  if (!map)
    return std::nullopt;
  for (const auto& [key, value] : *map) {
    if (value.IsNull()) {
      out[key] = "";
    } else if (auto v = text(value, path + "." + key)) {
      out[key] = *v;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<std::string>> split_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word)
        words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos)
        return std::nullopt;
      word.append(text.substr(i + 1, end - i - 1));
      i = end;
      in_word = true;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= text.size())
          return std::nullopt;
        if (text[i] == '"')
          break;
        if (text[i] == '\\' && i + 1 < text.size() &&
            std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos) {
          ++i;
        }
        word.push_back(text[i]);
      }
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word.push_back(text[++i]);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word)
    words.push_back(std::move(word));
  return words;
}

}  // namespace shoal::stack
