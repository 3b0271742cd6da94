// `${VAR}` substitution in compose files, as docker compose and `docker stack deploy` do it,
// with values from the CLI's environment:
//
//   $VAR, ${VAR}     the value; unset: an empty string, and the variable is reported (warning)
//   ${VAR:-word}     word when VAR is unset or empty      ${VAR-word}  word when VAR is unset
//   ${VAR:?message}  an error when VAR is unset or empty  ${VAR?message} an error when unset
//   ${VAR:+word}     word when VAR is set and not empty   ${VAR+word}  word when VAR is set
//   $$               a literal $
//
// `word` and `message` are substituted in turn, so defaults may nest (`${A:-${B}}`). Any other
// `$` (`$1`, `$(cmd)`, a lone `$` at the end) is an error, as in docker: a `$` meant for the
// task's shell is written `$$`. Only scalar values are substituted, never keys.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace shoal::stack {

class YamlReader;

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct Interpolated {
  std::string value;
  std::vector<std::string> unset;  // variables substituted by "" for want of a value, once each
};

// Pure. The error's detail says what is wrong ("required variable DB is missing a value: set
// it", "unterminated \"${\"") without naming where; interpolate_tree adds the key path.
Result<Interpolated> interpolate(std::string_view text, const EnvLookup& lookup);

// Every scalar value under `node`, in place; `path` is the node's key path ("" for the root).
// Errors ("services.web.command[1]: ...") go to the reader; each unset variable gives one
// warning naming it and the first path that used it.
void interpolate_tree(YAML::Node node, const std::string& path, const EnvLookup& lookup,
                      YamlReader& reader);

}  // namespace shoal::stack
