// network create | ls | inspect | rm
#include <algorithm>
#include <iostream>

#include "common/net_types.h"
#include "control/cli/commands.h"
#include "control/cli/inspect.h"
#include "control/cli/views.h"

namespace shoal::cli {
namespace {

struct CreateOptions {
  std::string driver = "overlay";
  bool attachable = false;
  std::string subnet;
  std::string gateway;
  std::string name;
  std::vector<std::string> labels;
};

Status network_create(Context& ctx, const CreateOptions& o) {
  // Checked here so that a typo is reported before anything is sent.
  if (!o.subnet.empty()) {
    if (auto subnet = Ipv4Prefix::parse(o.subnet); !subnet.ok()) {
      return usage_error("invalid --subnet \"" + o.subnet +
                         "\": expected a CIDR, e.g. 10.0.9.0/24");
    }
  }
  if (!o.gateway.empty()) {
    if (auto gateway = Ipv4::parse(o.gateway); !gateway.ok()) {
      return usage_error("invalid --gateway \"" + o.gateway + "\": expected an IPv4 address");
    }
  }
  api::CreateNetworkRequest request;
  request.set_name(o.name);
  request.set_driver(o.driver);
  request.set_subnet(o.subnet);
  request.set_gateway(o.gateway);
  request.set_attachable(o.attachable);
  for (const auto& label : o.labels) {
    SHOAL_ASSIGN_OR_RETURN(auto kv, split_key_value(label, "--label", false));
    (*request.mutable_labels())[kv.first] = kv.second;
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto network,
                         client->control(&api::Control::Stub::CreateNetwork, request));
  std::cout << network.id() << "\n";
  return Status();
}

struct LsOptions {
  bool quiet = false;
  bool no_trunc = false;
  std::string format = "table";
};

Status network_ls(Context& ctx, const LsOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto list, client->control(&api::Control::Stub::ListNetworks, {}));
  std::vector<api::Network> networks(list.networks().begin(), list.networks().end());
  std::sort(networks.begin(), networks.end(),
            [](const api::Network& a, const api::Network& b) { return a.name() < b.name(); });
  if (o.quiet) {
    for (const auto& network : networks) {
      std::cout << short_id(network.id(), o.no_trunc) << "\n";
    }
    return Status();
  }
  std::vector<Row> rows;
  for (const auto& network : networks) {
    rows.push_back({short_id(network.id(), o.no_trunc), network.name(), network.driver(), "swarm"});
  }
  print_rows(o.format, {"NETWORK ID", "NAME", "DRIVER", "SCOPE"}, {"ID", "Name", "Driver", "Scope"},
             rows);
  return Status();
}

Status network_inspect(Context& ctx, const std::vector<std::string>& names) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  nlohmann::json array = nlohmann::json::array();
  Status status = for_each_name(names, [&](const std::string& name) -> Status {
    api::IdRequest request;
    request.set_id(name);
    SHOAL_ASSIGN_OR_RETURN(auto network, client->control(&api::Control::Stub::GetNetwork, request));
    array.push_back(to_json(network));
    return Status();
  });
  if (status.ok() || status.error().op != kConnectOp) {
    std::cout << dump_array(array);
  }
  return status;
}

Status network_rm(Context& ctx, const std::vector<std::string>& names) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  return for_each_name(names, [&](const std::string& name) -> Status {
    api::IdRequest request;
    request.set_id(name);
    SHOAL_TRY(client->control(&api::Control::Stub::RemoveNetwork, request));
    std::cout << name << "\n";
    return Status();
  });
}

}  // namespace

void add_network_commands(CLI::App& app, Context& ctx) {
  auto* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);

  auto create = std::make_shared<CreateOptions>();
  auto* create_cmd = network->add_subcommand("create", "Create a network");
  create_cmd->add_option("-d,--driver", create->driver, "Driver to manage the network")
      ->default_str("overlay");
  create_cmd->add_flag("--attachable", create->attachable, "Enable manual container attachment");
  create_cmd->add_option("--subnet", create->subnet, "Subnet in CIDR format");
  create_cmd->add_option("--gateway", create->gateway, "IPv4 gateway for the subnet");
  create_cmd->add_option("--label", create->labels, "Set metadata on a network")
      ->allow_extra_args(false);
  create_cmd->add_option("NAME", create->name, "Network name")->required();
  on_parsed(create_cmd, ctx, [&ctx, create] { return network_create(ctx, *create); });

  auto ls = std::make_shared<LsOptions>();
  auto* ls_cmd = network->add_subcommand("ls", "List networks");
  ls_cmd->alias("list");
  ls_cmd->add_flag("-q,--quiet", ls->quiet, "Only display network IDs");
  ls_cmd->add_flag("--no-trunc", ls->no_trunc, "Do not truncate the output");
  ls_cmd->add_option("--format", ls->format, "json or table");
  on_parsed(ls_cmd, ctx, [&ctx, ls] { return network_ls(ctx, *ls); });

  auto inspect = std::make_shared<std::vector<std::string>>();
  auto* inspect_cmd =
      network->add_subcommand("inspect", "Display detailed information on networks");
  inspect_cmd->add_option("NETWORK", *inspect, "Network name or id")->required();
  on_parsed(inspect_cmd, ctx, [&ctx, inspect] { return network_inspect(ctx, *inspect); });

  auto rm = std::make_shared<std::vector<std::string>>();
  auto* rm_cmd = network->add_subcommand("rm", "Remove one or more networks");
  rm_cmd->alias("remove");
  rm_cmd->add_option("NETWORK", *rm, "Network name or id")->required();
  on_parsed(rm_cmd, ctx, [&ctx, rm] { return network_rm(ctx, *rm); });
}

}  // namespace shoal::cli
