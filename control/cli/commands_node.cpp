// node ls | inspect | update | rm
#include <algorithm>
#include <chrono>
#include <iostream>

#include "control/cli/commands.h"
#include "control/cli/inspect.h"
#include "control/cli/views.h"

namespace shoal::cli {
namespace {

struct LsOptions {
  bool quiet = false;
  std::string format = "table";
};

Status node_ls(Context& ctx, const LsOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto list, client->control(&api::Control::Stub::ListNodes, {}));
  std::vector<api::Node> nodes(list.nodes().begin(), list.nodes().end());
  std::sort(nodes.begin(), nodes.end(), [](const api::Node& a, const api::Node& b) {
    return std::tie(a.hostname(), a.id()) < std::tie(b.hostname(), b.id());
  });
  if (o.quiet) {
    for (const auto& node : nodes) {
      std::cout << node.id() << "\n";
    }
    return Status();
  }
  // Which node is this one: the daemon's own id. A worker answers ListNodes with an error
  // before we get here, so Info failing now is worth reporting too.
  SHOAL_ASSIGN_OR_RETURN(auto info, client->local(&api::Local::Stub::Info, {}));
  std::vector<Row> rows;
  std::vector<nlohmann::json> extra;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (const auto& node : nodes) {
    bool self = node.id() == info.node_id();
    std::string id = o.format == "json" ? node.id() : node.id() + (self ? " *" : "");
    // A certificate about to expire (or expired) is marked in STATUS, where an operator looks;
    // JSON keeps Status as it is and says it in TLSStatus.
    auto tls = tls_status(node, now);
    auto status = capitalise(node.status());
    if (o.format != "json" && (tls == "Expiring" || tls == "Expired")) {
      status += " (certificate " + std::string(tls == "Expired" ? "expired" : "expiring") + ")";
    }
    rows.push_back({id, node.hostname(), status, capitalise(node.availability()),
                    manager_status(node), kVersion});
    extra.push_back({{"Self", self}, {"TLSStatus", tls}});
  }
  print_rows(
      o.format, {"ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"},
      {"ID", "Hostname", "Status", "Availability", "ManagerStatus", "EngineVersion"}, rows, extra);
  return Status();
}

struct InspectOptions {
  bool pretty = false;
  std::vector<std::string> names;
};

Status node_inspect(Context& ctx, const InspectOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  nlohmann::json array = nlohmann::json::array();
  std::string text;
  Status status = for_each_name(o.names, [&](const std::string& name) -> Status {
    api::IdRequest request;
    request.set_id(name);
    SHOAL_ASSIGN_OR_RETURN(auto node, client->control(&api::Control::Stub::GetNode, request));
    if (o.pretty) {
      text += (text.empty() ? "" : "\n") + pretty(node);
    } else {
      array.push_back(to_json(node));
    }
    return Status();
  });
  if (status.ok() || status.error().op != kConnectOp) {
    std::cout << (o.pretty ? text : dump_array(array));
  }
  return status;
}

struct UpdateOptions {
  std::string availability;
  std::vector<std::string> label_add;
  std::vector<std::string> label_rm;
  std::string role;
  std::string node;
};

Status node_update(Context& ctx, const UpdateOptions& o) {
  api::UpdateNodeRequest request;
  request.set_id(o.node);
  request.set_availability(o.availability);
  request.set_role(o.role);
  for (const auto& label : o.label_add) {
    SHOAL_ASSIGN_OR_RETURN(auto kv, split_key_value(label, "--label-add", false));
    (*request.mutable_label_add())[kv.first] = kv.second;
  }
  for (const auto& key : o.label_rm) {
    request.add_label_rm(key);
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_TRY(client->control(&api::Control::Stub::UpdateNode, request));
  std::cout << o.node << "\n";  // docker echoes the node as it was named
  return Status();
}

struct RmOptions {
  bool force = false;
  std::vector<std::string> nodes;
};

// `node promote|demote`: `node update --role` for several nodes, as Docker prints it.
Status node_set_role(Context& ctx, const RmOptions& o, const std::string& role) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  return for_each_name(o.nodes, [&](const std::string& node) -> Status {
    api::UpdateNodeRequest request;
    request.set_id(node);
    request.set_role(role);
    request.set_force(o.force);
    SHOAL_TRY(client->control(&api::Control::Stub::UpdateNode, request));
    std::cout << "Node " << node
              << (role == "manager" ? " promoted to a manager in the swarm.\n"
                                    : " demoted in the swarm.\n");
    return Status();
  });
}

Status node_rm(Context& ctx, const RmOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  return for_each_name(o.nodes, [&](const std::string& node) -> Status {
    api::RemoveNodeRequest request;
    request.set_id(node);
    request.set_force(o.force);
    SHOAL_TRY(client->control(&api::Control::Stub::RemoveNode, request));
    std::cout << node << "\n";
    return Status();
  });
}

}  // namespace

void add_node_commands(CLI::App& app, Context& ctx) {
  auto* node = app.add_subcommand("node", "Manage swarm nodes");
  node->require_subcommand(1);

  auto ls = std::make_shared<LsOptions>();
  auto* ls_cmd = node->add_subcommand("ls", "List nodes in the swarm");
  ls_cmd->alias("list");
  ls_cmd->add_flag("-q,--quiet", ls->quiet, "Only display IDs");
  ls_cmd->add_option("--format", ls->format, "json or table");
  on_parsed(ls_cmd, ctx, [&ctx, ls] { return node_ls(ctx, *ls); });

  auto inspect = std::make_shared<InspectOptions>();
  auto* inspect_cmd = node->add_subcommand("inspect", "Display detailed information on nodes");
  inspect_cmd->add_flag("--pretty", inspect->pretty,
                        "Print the information in a human friendly format");
  inspect_cmd->add_option("NODE", inspect->names, "Node id or hostname")->required();
  on_parsed(inspect_cmd, ctx, [&ctx, inspect] { return node_inspect(ctx, *inspect); });

  auto update = std::make_shared<UpdateOptions>();
  auto* update_cmd = node->add_subcommand("update", "Update a node");
  update_cmd->add_option("--availability", update->availability, "active, pause or drain")
      ->check(CLI::IsMember({"active", "pause", "drain"}));
  update_cmd->add_option("--label-add", update->label_add, "Add or update a node label (KEY=VALUE)")
      ->allow_extra_args(false);
  update_cmd->add_option("--label-rm", update->label_rm, "Remove a node label if it exists")
      ->allow_extra_args(false);
  update_cmd->add_option("--role", update->role, "worker or manager")
      ->check(CLI::IsMember({"worker", "manager"}));
  update_cmd->add_option("NODE", update->node, "Node id or hostname")->required();
  on_parsed(update_cmd, ctx, [&ctx, update] { return node_update(ctx, *update); });

  auto promote = std::make_shared<RmOptions>();
  auto* promote_cmd = node->add_subcommand("promote", "Promote one or more nodes to manager");
  promote_cmd->add_option("NODE", promote->nodes, "Node id or hostname")->required();
  on_parsed(promote_cmd, ctx, [&ctx, promote] { return node_set_role(ctx, *promote, "manager"); });

  auto demote = std::make_shared<RmOptions>();
  auto* demote_cmd = node->add_subcommand("demote", "Demote one or more nodes from manager");
  demote_cmd->add_flag("-f,--force", demote->force,
                       "Demote even if the managers left could lose their quorum");
  demote_cmd->add_option("NODE", demote->nodes, "Node id or hostname")->required();
  on_parsed(demote_cmd, ctx, [&ctx, demote] { return node_set_role(ctx, *demote, "worker"); });

  auto rm = std::make_shared<RmOptions>();
  auto* rm_cmd = node->add_subcommand("rm", "Remove one or more nodes from the swarm");
  rm_cmd->alias("remove");
  rm_cmd->add_flag("-f,--force", rm->force, "Force remove a node from the swarm");
  rm_cmd->add_option("NODE", rm->nodes, "Node id or hostname")->required();
  on_parsed(rm_cmd, ctx, [&ctx, rm] { return node_rm(ctx, *rm); });
}

}  // namespace shoal::cli
