#include "control/stack/interpolate.h"

#include <algorithm>

#include "control/stack/yaml_reader.h"

namespace shoal::stack {
namespace {

constexpr const char* kEscapeHint = "; write $$ for a literal $";

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

Error failure(std::string reason) {
  return Error{"interpolate", "", 0, std::move(reason)};
}

class Expander {
 public:
  Expander(const EnvLookup& lookup, Interpolated& out) : lookup_(lookup), out_(out) {}

  // Appends `text`, substituted, to `into`.
  Status expand(std::string_view text, std::string& into) {
    for (size_t i = 0; i < text.size();) {
      if (text[i] != '$') {
        into.push_back(text[i++]);
        continue;
      }
      if (i + 1 == text.size())
        return failure("a lone \"$\" at the end" + std::string(kEscapeHint));
      const char next = text[i + 1];
      if (next == '$') {
        into.push_back('$');
        i += 2;
      } else if (name_start(next)) {
        size_t end = i + 1;
        while (end < text.size() && name_char(text[end]))
          ++end;
        into += plain(std::string(text.substr(i + 1, end - i - 1)));
        i = end;
      } else if (next == '{') {
        const size_t close = closing_brace(text, i + 2);
        if (close == std::string_view::npos)
          return failure("unterminated \"${\" in \"" + std::string(text) + "\"");
        SHOAL_TRY(braced(text.substr(i + 2, close - i - 2), into));
        i = close + 1;
      } else {
        return failure("\"$" + std::string(1, next) + "\" is not a variable" + kEscapeHint);
      }
    }
    return {};
  }

 private:
  // The '}' closing a "${" whose body starts at `from`, skipping nested "${...}" and "$$".
  static size_t closing_brace(std::string_view text, size_t from) {
    int depth = 1;
    for (size_t j = from; j < text.size(); ++j) {
      if (text[j] == '$' && j + 1 < text.size() && (text[j + 1] == '$' || text[j + 1] == '{')) {
        depth += text[j + 1] == '{' ? 1 : 0;
        ++j;
      } else if (text[j] == '}' && --depth == 0) {
        return j;
      }
    }
    return std::string_view::npos;
  }

  std::string plain(const std::string& name) {
    if (auto value = lookup_ ? lookup_(name) : std::nullopt)
      return *value;
    if (std::find(out_.unset.begin(), out_.unset.end(), name) == out_.unset.end())
      out_.unset.push_back(name);
    return "";
  }

  // The body of "${...}": NAME, then nothing or an operator and its word.
  Status braced(std::string_view body, std::string& into) {
    size_t end = 0;
    if (body.empty() || !name_start(body[0]))
      return failure("\"${" + std::string(body) + "}\": expected a variable name after \"${\"");
    while (end < body.size() && name_char(body[end]))
      ++end;
    const std::string name(body.substr(0, end));
    std::string_view rest = body.substr(end);
    if (rest.empty()) {
      into += plain(name);
      return {};
    }
    const bool colon = rest.front() == ':';
    if (colon)
      rest.remove_prefix(1);
    if (rest.empty() || (rest.front() != '-' && rest.front() != '?' && rest.front() != '+')) {
      return failure("\"${" + std::string(body) +
                     "}\": expected }, :-, -, :?, ?, :+ or + after the variable name");
    }
    const char op = rest.front();
    const std::string_view word = rest.substr(1);
    const std::optional<std::string> value = lookup_ ? lookup_(name) : std::nullopt;
    // With ':', an empty value counts as unset.
    const bool set = value && !(colon && value->empty());
    if (op == '-') {
      return set ? (into += *value, Status{}) : expand(word, into);
    }
    if (op == '+') {
      return set ? expand(word, into) : Status{};
    }
    if (set) {
      into += *value;
      return {};
    }
    std::string message;
    SHOAL_TRY(expand(word, message));
    return failure("required variable " + name + " is missing a value" +
                   (message.empty() ? "" : ": " + message));
  }

  const EnvLookup& lookup_;
  Interpolated& out_;
};

}  // namespace

Result<Interpolated> interpolate(std::string_view text, const EnvLookup& lookup) {
  Interpolated out;
  Expander expander(lookup, out);
  SHOAL_TRY(expander.expand(text, out.value));
  return out;
}

namespace {

void walk(YAML::Node node, const std::string& path, const EnvLookup& lookup, YamlReader& reader,
          std::vector<std::string>& warned) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text.find('$') == std::string::npos)
      return;  // leaves the node as written (its tag, quoting) when there is nothing to do
    auto result = interpolate(text, lookup);
    if (!result.ok()) {
      reader.error(path, result.error().detail);
      return;
    }
    for (const auto& name : result->unset) {
      if (std::find(warned.begin(), warned.end(), name) != warned.end())
        continue;
      warned.push_back(name);
      reader.warn(path, "the \"" + name + "\" variable is not set: defaulting to a blank string");
    }
    node = result->value;
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      walk(node[i], path + "[" + std::to_string(i) + "]", lookup, reader, warned);
  } else if (node.IsMap()) {
    for (auto entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
      walk(entry.second, path.empty() ? key : path + "." + key, lookup, reader, warned);
    }
  }
}

}  // namespace

void interpolate_tree(YAML::Node node, const std::string& path, const EnvLookup& lookup,
                      YamlReader& reader) {
  std::vector<std::string> warned;
  walk(node, path, lookup, reader, warned);
}

}  // namespace shoal::stack
