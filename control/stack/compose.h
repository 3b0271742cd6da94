// Compose files (version 3 keys) to a StackSpec: a pure function of the file's text, so every
// accepted and refused key is unit-tested without a swarm.
//
// Every key Shoal cannot honour is an error naming its path ("services.web.build: not
// supported: Shoal runs commands, not images"); nothing is silently dropped. A few keys are
// accepted with a warning because ignoring them changes nothing a task could see (`image` next
// to a command: the command is what runs). Names follow `docker stack deploy`: NAME_key, and the
// label com.docker.stack.namespace=NAME on every service, network and config.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/stack/stack_spec.h"

namespace shoal::stack {

struct ComposeOptions {
  std::string stack_name;
  std::string base_dir = ".";  // the compose file's directory: config files are relative to it
  // `${VAR}` in values (interpolate.h) and `environment: [KEY]` take values from here
  // (docker: the CLI's environment); a KEY without a value here is left out of the task's
  // environment, as docker does.
  std::function<std::optional<std::string>(const std::string&)> lookup_env;
};

struct ComposeResult {
  std::optional<StackSpec> spec;      // set when there is no error
  std::vector<std::string> errors;    // "path: message", in file order
  std::vector<std::string> warnings;  // accepted but ignored keys, unset variables; same form
};

ComposeResult parse_compose(std::string_view yaml, const ComposeOptions& options);

// A command line split as a POSIX shell would (quotes, backslashes; no expansion), as compose
// splits a string `command:`. Nullopt on an unterminated quote.
std::optional<std::vector<std::string>> split_command(std::string_view text);

}  // namespace shoal::stack
