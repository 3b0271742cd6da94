// `shoal run`: a standalone process on an attachable overlay network, run on this node. Like
// `docker run` attached to a swarm network: its output comes back here and the command exits
// with the process's code. Ctrl-C (the client going away) stops it; it leaves nothing behind.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "control/cli/commands.h"

namespace shoal::cli {
namespace {

struct RunOptions {
  std::string name;
  std::string network;
  std::vector<std::string> env;
  std::vector<std::string> command;
};

Status run_standalone(Context& ctx, const RunOptions& o) {
  api::RunRequest request;
  auto& spec = *request.mutable_spec();
  spec.set_name(o.name);
  spec.set_network(o.network);
  for (const auto& e : o.env) {
    SHOAL_ASSIGN_OR_RETURN(auto entry, parse_env(e));
    spec.add_env(entry);
  }
  for (const auto& word : o.command)
    spec.add_command(word);
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());

  grpc::ClientContext context;
  auto stream = client->local_stub().Run(&context, request);
  api::RunOutput output;
  std::optional<int> exit_code;
  while (stream->Read(&output)) {
    std::cout << output.out() << std::flush;
    std::cerr << output.err() << std::flush;
    if (output.exited())
      exit_code = output.exit_code();
  }
  grpc::Status status = stream->Finish();
  if (!status.ok())
    return client->failure(status);
  if (!exit_code)
    return Error{kDaemonOp, "", 0, "the process's end was not reported"};
  ctx.exit_code = *exit_code;
  return Status();
}

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd =
      app.add_subcommand("run", "Run a standalone process on an attachable network (on this node)");
  cmd->positionals_at_end();
  cmd->add_option("--name", o->name, "Name (resolvable on the network; default: run-<id>)");
  cmd->add_option("--network", o->network, "Attachable overlay network to attach to")->required();
  cmd->add_option("-e,--env", o->env, "Set environment variables")->allow_extra_args(false);
  cmd->add_option("COMMAND", o->command, "-- CMD [ARG...]")->required();
  on_parsed(cmd, ctx, [&ctx, o] { return run_standalone(ctx, *o); });
}

}  // namespace shoal::cli
