// stack deploy | ls | services | ps | rm: a compose file through the Control API. Parsing and
// planning are control/stack's (pure); this file reads files and sends what the plan says.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include "control/cli/commands.h"
#include "control/cli/views.h"
#include "control/stack/compose.h"
#include "control/stack/planner.h"

namespace shoal::cli {
namespace {

using stack::kNamespaceLabel;

Result<std::string> read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return usage_error("cannot read " + what + " " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status check_stack_name(const std::string& name) {
  bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!ok)
    return usage_error("invalid stack name \"" + name + "\": letters, digits, '-' and '_' only");
  return Status();
}

// Everything the planner compares against; configs with their data (only the stack's and the
// file's need it, so only those are fetched whole).
Result<stack::SwarmObjects> swarm_objects(Client& client,
                                          const std::set<std::string>& wanted_configs,
                                          const std::string& name) {
  stack::SwarmObjects swarm;
  SHOAL_ASSIGN_OR_RETURN(auto services, client.control(&api::Control::Stub::ListServices, {}));
  swarm.services.assign(services.services().begin(), services.services().end());
  SHOAL_ASSIGN_OR_RETURN(auto networks, client.control(&api::Control::Stub::ListNetworks, {}));
  swarm.networks.assign(networks.networks().begin(), networks.networks().end());
  SHOAL_ASSIGN_OR_RETURN(auto configs, client.control(&api::Control::Stub::ListConfigs, {}));
  for (const auto& config : configs.configs()) {
    if (!wanted_configs.contains(config.name()) && !stack::in_stack(config.labels(), name)) {
      swarm.configs.push_back(config);
      continue;
    }
    api::IdRequest request;
    request.set_id(config.id());
    SHOAL_ASSIGN_OR_RETURN(auto whole, client.control(&api::Control::Stub::GetConfig, request));
    swarm.configs.push_back(std::move(whole));
  }
  return swarm;
}

Status remove_all(Client& client, const stack::Plan& plan) {
  bool failed = false;
  auto remove = [&](const char* kind, const std::vector<stack::Removal>& list, auto rpc) {
    for (const auto& r : list) {
      std::cout << "Removing " << kind << " " << r.name << "\n";
      api::IdRequest request;
      request.set_id(r.id);
      if (auto done = client.control(rpc, request); !done.ok()) {
        std::cerr << "Failed to remove " << kind << " " << r.name << ": "
                  << user_message(done.error()) << "\n";
        failed = true;
      }
    }
  };
  remove("service", plan.remove_services, &api::Control::Stub::RemoveService);
  remove("config", plan.remove_configs, &api::Control::Stub::RemoveConfig);
  remove("network", plan.remove_networks, &api::Control::Stub::RemoveNetwork);
  return failed ? reported_error() : Status();
}

Status apply(Client& client, const stack::Plan& plan,
             const std::map<std::string, std::string>& data) {
  for (const auto& n : plan.create_networks) {
    std::cout << "Creating network " << n.name << "\n";
    api::CreateNetworkRequest request;
    request.set_name(n.name);
    request.set_driver(n.driver);
    request.set_attachable(n.attachable);
    request.set_subnet(n.subnet);
    request.mutable_labels()->insert(n.labels.begin(), n.labels.end());
    SHOAL_TRY(client.control(&api::Control::Stub::CreateNetwork, request));
  }
  for (const auto& c : plan.create_configs) {
    std::cout << "Creating config " << c.name << "\n";
    api::CreateConfigRequest request;
    request.set_name(c.name);
    request.set_data(data.at(c.name));
    request.mutable_labels()->insert(c.labels.begin(), c.labels.end());
    SHOAL_TRY(client.control(&api::Control::Stub::CreateConfig, request));
  }
  for (const auto& u : plan.update_services) {
    std::cout << "Updating service " << u.spec.name() << " (id: " << u.id << ")\n";
    api::UpdateServiceRequest request;
    request.set_id(u.id);
    request.set_version(u.version);
    *request.mutable_spec() = u.spec;
    SHOAL_TRY(client.control(&api::Control::Stub::UpdateService, request));
  }
  for (const auto& spec : plan.create_services) {
    std::cout << "Creating service " << spec.name() << "\n";
    SHOAL_TRY(client.control(&api::Control::Stub::CreateService, spec));
  }
  return remove_all(client, plan);
}

struct DeployOptions {
  std::string file;
  std::string name;
  bool prune = false;
};

Status stack_deploy(Context& ctx, const DeployOptions& o) {
  SHOAL_TRY(check_stack_name(o.name));
  SHOAL_ASSIGN_OR_RETURN(auto yaml, read_file(o.file, "compose file"));
  stack::ComposeOptions options;
  options.stack_name = o.name;
  const size_t slash = o.file.rfind('/');
  options.base_dir =
      slash == std::string::npos ? "." : o.file.substr(0, std::max<size_t>(slash, 1));
  options.lookup_env = [](const std::string& key) -> std::optional<std::string> {
    const char* value = std::getenv(key.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  auto parsed = stack::parse_compose(yaml, options);
  for (const auto& warning : parsed.warnings)
    std::cerr << "Warning: " << warning << "\n";
  if (!parsed.spec) {
    for (const auto& error : parsed.errors)
      std::cerr << o.file << ": " << error << "\n";
    return reported_error();
  }
  std::map<std::string, std::string> data;
  std::set<std::string> config_names;
  for (const auto& config : parsed.spec->configs) {
    config_names.insert(config.name);
    if (config.external)
      continue;
    SHOAL_ASSIGN_OR_RETURN(data[config.name], read_file(config.file, "config file"));
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto swarm, swarm_objects(*client, config_names, o.name));
  auto plan = stack::plan_deploy(*parsed.spec, data, swarm, o.prune);
  for (const auto& warning : plan.warnings)
    std::cerr << "Warning: " << warning << "\n";
  if (!plan.errors.empty()) {
    for (const auto& error : plan.errors)
      std::cerr << "Error: " << error << "\n";
    return reported_error();
  }
  return apply(*client, plan, data);
}

Status stack_rm(Context& ctx, const std::vector<std::string>& names) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  return for_each_name(names, [&](const std::string& name) -> Status {
    SHOAL_ASSIGN_OR_RETURN(auto swarm, swarm_objects(*client, {}, name));
    auto plan = stack::plan_remove(name, swarm);
    if (plan.remove_services.empty() && plan.remove_configs.empty() &&
        plan.remove_networks.empty()) {
      return usage_error("Nothing found in stack: " + name);
    }
    return remove_all(*client, plan);
  });
}

struct ListOptions {
  std::string name;
  std::string format = "table";
  bool no_trunc = false;
  bool quiet = false;
};

Status stack_ls(Context& ctx, const ListOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto list, client->control(&api::Control::Stub::ListServices, {}));
  std::map<std::string, size_t> stacks;
  for (const auto& service : list.services()) {
    auto label = service.spec().labels().find(kNamespaceLabel);
    if (label != service.spec().labels().end())
      ++stacks[label->second];
  }
  std::vector<Row> rows;
  for (const auto& [name, count] : stacks)
    rows.push_back({name, std::to_string(count)});
  print_rows(o.format, {"NAME", "SERVICES"}, {"Name", "Services"}, rows);
  return Status();
}

Result<std::vector<api::Service>> stack_services_of(Client& client, const std::string& name) {
  SHOAL_ASSIGN_OR_RETURN(auto list, client.control(&api::Control::Stub::ListServices, {}));
  std::vector<api::Service> out;
  for (const auto& service : list.services()) {
    if (stack::in_stack(service.spec().labels(), name))
      out.push_back(service);
  }
  if (out.empty())
    return usage_error("Nothing found in stack: " + name);
  std::sort(out.begin(), out.end(), [](const api::Service& a, const api::Service& b) {
    return a.spec().name() < b.spec().name();
  });
  return out;
}

Result<std::vector<api::Task>> all_tasks(Client& client) {
  SHOAL_ASSIGN_OR_RETURN(auto list, client.control(&api::Control::Stub::ListTasks, {}));
  return std::vector<api::Task>(list.tasks().begin(), list.tasks().end());
}

Status stack_services(Context& ctx, const ListOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto services, stack_services_of(*client, o.name));
  if (o.quiet) {
    for (const auto& service : services)
      std::cout << short_id(service.id(), o.no_trunc) << "\n";
    return Status();
  }
  SHOAL_ASSIGN_OR_RETURN(auto tasks, all_tasks(*client));
  SHOAL_ASSIGN_OR_RETURN(auto nodes, client->control(&api::Control::Stub::ListNodes, {}));
  std::set<std::string> down;
  for (const auto& node : nodes.nodes()) {
    if (node.status() == "down")
      down.insert(node.id());
  }
  std::vector<Row> rows;
  for (const auto& service : services) {
    rows.push_back({short_id(service.id(), o.no_trunc), service.spec().name(),
                    service.spec().mode(), replicas_column(service, tasks, down),
                    command_column(service.spec()), ports_column(service, "ingress")});
  }
  print_rows(o.format, {"ID", "NAME", "MODE", "REPLICAS", "COMMAND", "PORTS"},
             {"ID", "Name", "Mode", "Replicas", "Command", "Ports"}, rows);
  return Status();
}

Status stack_ps(Context& ctx, const ListOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto services, stack_services_of(*client, o.name));
  std::set<std::string> ids;
  for (const auto& service : services)
    ids.insert(service.id());
  SHOAL_ASSIGN_OR_RETURN(auto every, all_tasks(*client));
  std::vector<api::Task> tasks;
  std::copy_if(every.begin(), every.end(), std::back_inserter(tasks),
               [&](const api::Task& t) { return ids.contains(t.service_id()); });
  SHOAL_ASSIGN_OR_RETURN(auto nodes, client->control(&api::Control::Stub::ListNodes, {}));
  std::map<std::string, std::string> hostnames;
  for (const auto& node : nodes.nodes())
    hostnames[node.id()] = node.hostname();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::vector<Row> rows;
  for (const auto& [task, history] : order_tasks(tasks)) {
    if (o.quiet) {
      std::cout << short_id(task->id(), o.no_trunc) << "\n";
      continue;
    }
    auto node = hostnames.find(task->node_id());
    rows.push_back({short_id(task->id(), o.no_trunc), task_name(*task, history, o.no_trunc),
                    command_column(*task, o.no_trunc),
                    node != hostnames.end() ? node->second : task->node_id(),
                    capitalise(task->desired_state()), current_state_column(*task, now_ms),
                    error_column(*task, o.no_trunc)});
  }
  if (!o.quiet) {
    print_rows(o.format,
               {"ID", "NAME", "COMMAND", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR"},
               {"ID", "Name", "Command", "Node", "DesiredState", "CurrentState", "Error"}, rows);
  }
  return Status();
}

}  // namespace

void add_stack_commands(CLI::App& app, Context& ctx) {
  auto* stack = app.add_subcommand("stack", "Manage swarm stacks");
  stack->require_subcommand(1);

  auto deploy = std::make_shared<DeployOptions>();
  auto* deploy_cmd =
      stack->add_subcommand("deploy", "Deploy a new stack or update an existing stack");
  deploy_cmd->alias("up");
  deploy_cmd->add_option("-c,--compose-file", deploy->file, "Path to a Compose file")->required();
  deploy_cmd->add_flag("--prune", deploy->prune, "Prune services that are no longer referenced");
  deploy_cmd->add_option("STACK", deploy->name, "Stack name")->required();
  on_parsed(deploy_cmd, ctx, [&ctx, deploy] { return stack_deploy(ctx, *deploy); });

  auto ls = std::make_shared<ListOptions>();
  auto* ls_cmd = stack->add_subcommand("ls", "List stacks");
  ls_cmd->alias("list");
  ls_cmd->add_option("--format", ls->format, "json or table");
  on_parsed(ls_cmd, ctx, [&ctx, ls] { return stack_ls(ctx, *ls); });

  auto services = std::make_shared<ListOptions>();
  auto* services_cmd = stack->add_subcommand("services", "List the services in the stack");
  services_cmd->add_flag("-q,--quiet", services->quiet, "Only display IDs");
  services_cmd->add_option("--format", services->format, "json or table");
  services_cmd->add_option("STACK", services->name, "Stack name")->required();
  on_parsed(services_cmd, ctx, [&ctx, services] { return stack_services(ctx, *services); });

  auto ps = std::make_shared<ListOptions>();
  auto* ps_cmd = stack->add_subcommand("ps", "List the tasks in the stack");
  ps_cmd->add_flag("-q,--quiet", ps->quiet, "Only display task IDs");
  ps_cmd->add_flag("--no-trunc", ps->no_trunc, "Do not truncate output");
  ps_cmd->add_option("--format", ps->format, "json or table");
  ps_cmd->add_option("STACK", ps->name, "Stack name")->required();
  on_parsed(ps_cmd, ctx, [&ctx, ps] { return stack_ps(ctx, *ps); });

  auto rm = std::make_shared<std::vector<std::string>>();
  auto* rm_cmd = stack->add_subcommand("rm", "Remove one or more stacks");
  rm_cmd->alias("remove")->alias("down");
  rm_cmd->add_option("STACK", *rm, "Stack name")->required();
  on_parsed(rm_cmd, ctx, [&ctx, rm] { return stack_rm(ctx, *rm); });
}

}  // namespace shoal::cli
