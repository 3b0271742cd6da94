#include "control/cli/app.h"

#include <cstdlib>
#include <iostream>

#include <grpc/support/log.h>

namespace shoal::cli {

Result<Client*> Context::client() {
  if (!client_) {
    SHOAL_ASSIGN_OR_RETURN(Client created, Client::create(host));
    client_.emplace(std::move(created));
  }
  return &*client_;
}

int run(int argc, char** argv) {
  // gRPC logs connection failures on stderr; the user gets one line of ours instead.
  gpr_set_log_function([](gpr_log_func_args*) {});

  Context ctx;
  if (const char* env = std::getenv("SHOAL_HOST"); env != nullptr && *env != '\0') {
    ctx.host = env;
  }
  CLI::App app{"A self-sufficient runtime for Shoal swarms (docker swarm mode's verbs)", "shoal"};
  app.require_subcommand(1);
  app.add_option("-H,--host", ctx.host, "Daemon socket to connect to (env SHOAL_HOST)")
      ->default_str(kDefaultHost);
  add_swarm_commands(app, ctx);
  add_node_commands(app, ctx);
  add_network_commands(app, ctx);
  add_service_commands(app, ctx);
  add_config_commands(app, ctx);
  add_stack_commands(app, ctx);
  add_run_command(app, ctx);
  app.add_subcommand("version", "Show the shoal version")->callback([&ctx] {
    ctx.action = [] {
      std::cout << "shoal " << kVersion << "\n";
      return Status();
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help
    }
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
  if (!ctx.action) {
    std::cerr << "Error: no command given; see 'shoal --help'\n";
    return 1;
  }
  Status status = ctx.action();
  std::cout.flush();
  if (!status.ok()) {
    if (status.error().op != kReportedOp) {
      std::cerr << user_message(status.error()) << "\n";
    }
    return 1;
  }
  return ctx.exit_code.value_or(0);
}

}  // namespace shoal::cli
