// The command tree. run() parses the whole command line first and only then runs the chosen
// command, so a usage error never reaches the daemon.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "control/cli/client.h"

namespace shoal::cli {

inline constexpr const char* kVersion = SHOAL_CLI_VERSION;

class Context {
 public:
  std::string host = kDefaultHost;
  // Set by the parsed subcommand's callback; run() calls it after parsing succeeded.
  std::function<Status()> action;
  // The process exit code when the command succeeded but ends with another (`shoal run` exits
  // with its process's code).
  std::optional<int> exit_code;

  // The daemon connection, made on first use from `host`.
  Result<Client*> client();

 private:
  std::optional<Client> client_;
};

// Returns the process exit code: 0 success, 1 any failure (usage, daemon, connection).
int run(int argc, char** argv);

void add_swarm_commands(CLI::App& app, Context& ctx);
void add_node_commands(CLI::App& app, Context& ctx);
void add_network_commands(CLI::App& app, Context& ctx);
void add_service_commands(CLI::App& app, Context& ctx);
void add_config_commands(CLI::App& app, Context& ctx);
void add_stack_commands(CLI::App& app, Context& ctx);
void add_run_command(CLI::App& app, Context& ctx);

}  // namespace shoal::cli
