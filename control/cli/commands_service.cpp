// service create | ls | ps | inspect | rm | logs | scale | update
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>

#include "common/duration.h"
#include "common/printable.h"
#include "control/cli/commands.h"
#include "control/cli/config_ref.h"
#include "control/cli/inspect.h"
#include "control/cli/network_opt.h"
#include "control/cli/progress.h"
#include "control/cli/publish.h"
#include "control/cli/update_flags.h"
#include "control/cli/views.h"

namespace shoal::cli {
namespace {

Result<uint64_t> parse_count(const std::string& text, const std::string& flag) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return usage_error("invalid " + flag + " \"" + text + "\": must be a non-negative integer");
  }
  return value;
}

Result<uint64_t> parse_duration_ms(const std::string& text, const std::string& flag) {
  auto d = parse_duration(text);
  if (!d.ok()) {
    return usage_error(flag + ": " + d.error().message());
  }
  return static_cast<uint64_t>(d->count());
}

bool stdout_is_tty() {
  return isatty(STDOUT_FILENO) == 1;
}

Result<std::map<std::string, std::string>> node_names(Client& client) {
  SHOAL_ASSIGN_OR_RETURN(auto list, client.control(&api::Control::Stub::ListNodes, {}));
  std::map<std::string, std::string> names;
  for (const auto& node : list.nodes()) {
    names[node.id()] = node.hostname();
  }
  return names;
}

Result<api::Service> get_service(Client& client, const std::string& name) {
  api::IdRequest request;
  request.set_id(name);
  return client.control(&api::Control::Stub::GetService, request);
}

Result<std::vector<api::Task>> list_tasks(Client& client, const std::string& service) {
  api::ListTasksRequest request;
  request.set_service(service);
  SHOAL_ASSIGN_OR_RETURN(auto list, client.control(&api::Control::Stub::ListTasks, request));
  return std::vector<api::Task>(list.tasks().begin(), list.tasks().end());
}

// ---- create ----

struct CreateOptions {
  std::string name;
  std::string replicas;
  std::string mode = "replicated";
  std::vector<std::string> networks;
  std::vector<std::string> env;
  std::vector<std::string> constraints;
  std::string restart_condition = "any";
  std::string restart_delay = "5s";
  std::string restart_max_attempts = "0";
  std::string stop_grace_period = "10s";
  std::string max_replicas = "0";
  std::vector<std::string> publish;
  std::string endpoint_mode = "vip";
  std::vector<std::string> configs;
  std::vector<std::string> labels;
  std::vector<std::string> placement_prefs;
  UpdateFlags update;
  UpdateFlags rollback;
  bool detach = false;
  bool quiet = false;
  std::vector<std::string> command;
};

// Everything is checked before the daemon hears of it.
Result<api::ServiceSpec> build_spec(const CreateOptions& o) {
  api::ServiceSpec spec;
  spec.set_name(o.name);
  spec.set_mode(o.mode);
  if (o.mode == "global" && !o.replicas.empty()) {
    return usage_error("replicas can only be used with replicated mode");
  }
  if (o.mode == "replicated") {
    uint64_t replicas = 1;
    if (!o.replicas.empty()) {
      SHOAL_ASSIGN_OR_RETURN(replicas, parse_count(o.replicas, "--replicas"));
    }
    spec.set_replicas(replicas);
  }
  if (o.command.empty()) {
    return usage_error("\"shoal service create\" requires a command: -- CMD [ARG...]");
  }
  spec.add_command(o.command.front());
  for (size_t i = 1; i < o.command.size(); ++i) {
    spec.add_args(o.command[i]);
  }
  for (const auto& e : o.env) {
    SHOAL_ASSIGN_OR_RETURN(auto entry, parse_env(e));
    spec.add_env(entry);
  }
  for (const auto& text : o.networks) {
    SHOAL_ASSIGN_OR_RETURN(auto network, parse_network_opt(text));
    spec.add_networks(network.name);
    if (!network.aliases.empty()) {
      auto& entry = *spec.add_network_aliases();
      entry.set_network(network.name);
      for (const auto& alias : network.aliases)
        entry.add_aliases(alias);
    }
  }
  for (const auto& p : o.publish) {
    auto port = parse_publish(p);
    if (!port.ok()) {
      return usage_error(port.error().message());
    }
    *spec.add_ports() = *port;
  }
  spec.set_endpoint_mode(o.endpoint_mode);
  for (const auto& c : o.constraints) {
    if (c.find("==") == std::string::npos && c.find("!=") == std::string::npos) {
      return usage_error("invalid constraint \"" + c + "\": expected KEY==VALUE or KEY!=VALUE");
    }
    spec.add_constraints(c);
  }
  auto* restart = spec.mutable_restart();
  restart->set_condition(o.restart_condition);
  SHOAL_ASSIGN_OR_RETURN(uint64_t delay, parse_duration_ms(o.restart_delay, "--restart-delay"));
  restart->set_delay_ms(delay);
  SHOAL_ASSIGN_OR_RETURN(uint64_t attempts,
                         parse_count(o.restart_max_attempts, "--restart-max-attempts"));
  restart->set_max_attempts(attempts);
  SHOAL_ASSIGN_OR_RETURN(uint64_t grace,
                         parse_duration_ms(o.stop_grace_period, "--stop-grace-period"));
  spec.set_stop_grace_ms(grace);
  SHOAL_ASSIGN_OR_RETURN(uint64_t max_replicas, parse_count(o.max_replicas, "--max-replicas"));
  spec.set_max_replicas_per_node(max_replicas);
  for (const auto& c : o.configs) {
    SHOAL_ASSIGN_OR_RETURN(*spec.add_configs(), parse_config_ref(c));
  }
  for (const auto& label : o.labels) {
    SHOAL_ASSIGN_OR_RETURN(auto kv, split_key_value(label, "--label", false));
    (*spec.mutable_labels())[kv.first] = kv.second;
  }
  for (const auto& preference : o.placement_prefs) {
    spec.add_placement_prefs(preference);
  }
  default_update_config(*spec.mutable_update_config());
  default_update_config(*spec.mutable_rollback_config());
  SHOAL_TRY(apply_update_flags(o.update, "--update", *spec.mutable_update_config()));
  SHOAL_TRY(apply_update_flags(o.rollback, "--rollback", *spec.mutable_rollback_config()));
  return spec;
}

Status service_create(Context& ctx, const CreateOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(auto spec, build_spec(o));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto service, client->control(&api::Control::Stub::CreateService, spec));
  std::cout << service.id() << "\n";
  if (o.detach || o.quiet) {
    return Status();
  }
  return watch_progress(*client, service.id(), std::cout, stdout_is_tty());
}

// ---- ls / ps ----

struct ListOptions {
  bool quiet = false;
  bool no_trunc = false;
  std::string format = "table";
  std::vector<std::string> services;  // ps only
};

Status service_ls(Context& ctx, const ListOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto list, client->control(&api::Control::Stub::ListServices, {}));
  std::vector<api::Service> services(list.services().begin(), list.services().end());
  std::sort(services.begin(), services.end(), [](const api::Service& a, const api::Service& b) {
    return a.spec().name() < b.spec().name();
  });
  if (o.quiet) {
    for (const auto& service : services) {
      std::cout << short_id(service.id(), o.no_trunc) << "\n";
    }
    return Status();
  }
  SHOAL_ASSIGN_OR_RETURN(auto tasks, list_tasks(*client, ""));
  SHOAL_ASSIGN_OR_RETURN(auto nodes, client->control(&api::Control::Stub::ListNodes, {}));
  std::set<std::string> down;
  for (const auto& node : nodes.nodes()) {
    if (node.status() == "down") {
      down.insert(node.id());
    }
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

Status service_ps(Context& ctx, const ListOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  std::vector<api::Service> services;
  std::vector<api::Task> tasks;
  SHOAL_TRY(for_each_name(o.services, [&](const std::string& name) -> Status {
    SHOAL_ASSIGN_OR_RETURN(auto service, get_service(*client, name));
    SHOAL_ASSIGN_OR_RETURN(auto some, list_tasks(*client, service.id()));
    tasks.insert(tasks.end(), some.begin(), some.end());
    services.push_back(std::move(service));
    return Status();
  }));
  SHOAL_ASSIGN_OR_RETURN(auto nodes, node_names(*client));
  std::map<std::string, std::string> host_ports;  // by service id: its host-mode ports
  for (const auto& service : services) {
    host_ports[service.id()] = ports_column(service, "host");
  }
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<Row> rows;
  for (const auto& [task, history] : order_tasks(tasks)) {
    if (o.quiet) {
      std::cout << short_id(task->id(), o.no_trunc) << "\n";
      continue;
    }
    auto node = nodes.find(task->node_id());
    std::string node_name = node != nodes.end() ? node->second : task->node_id();
    bool live = task->state() == "running";
    rows.push_back({short_id(task->id(), o.no_trunc), task_name(*task, history, o.no_trunc),
                    command_column(*task, o.no_trunc), node_name, capitalise(task->desired_state()),
                    current_state_column(*task, now_ms), error_column(*task, o.no_trunc),
                    live ? host_ports[task->service_id()] : ""});
  }
  if (!o.quiet) {
    print_rows(
        o.format,
        {"ID", "NAME", "COMMAND", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"},
        {"ID", "Name", "Command", "Node", "DesiredState", "CurrentState", "Error", "Ports"}, rows);
  }
  return Status();
}

// ---- inspect / rm / logs ----

struct InspectOptions {
  bool pretty = false;
  std::vector<std::string> names;
};

Status service_inspect(Context& ctx, const InspectOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  nlohmann::json array = nlohmann::json::array();
  std::string text;
  Status status = for_each_name(o.names, [&](const std::string& name) -> Status {
    SHOAL_ASSIGN_OR_RETURN(auto service, get_service(*client, name));
    if (o.pretty) {
      text += pretty(service);
    } else {
      array.push_back(to_json(service));
    }
    return Status();
  });
  if (status.ok() || status.error().op != kConnectOp) {
    std::cout << (o.pretty ? text : dump_array(array));
  }
  return status;
}

Status service_rm(Context& ctx, const std::vector<std::string>& names) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  return for_each_name(names, [&](const std::string& name) -> Status {
    api::IdRequest request;
    request.set_id(name);
    SHOAL_TRY(client->control(&api::Control::Stub::RemoveService, request));
    std::cout << name << "\n";
    return Status();
  });
}

struct LogsOptions {
  std::string tail = "all";
  std::string service;
};

Status service_logs(Context& ctx, const LogsOptions& o) {
  uint32_t tail = 0;
  if (o.tail != "all") {
    SHOAL_ASSIGN_OR_RETURN(uint64_t n, parse_count(o.tail, "--tail"));
    tail = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  api::LogsRequest request;
  request.set_service(o.service);
  request.set_tail(tail);
  SHOAL_ASSIGN_OR_RETURN(auto logs, client->control(&api::Control::Stub::ServiceLogs, request));
  // Context for each line's prefix: the task's slot and the node's name.
  SHOAL_ASSIGN_OR_RETURN(auto tasks, list_tasks(*client, o.service));
  SHOAL_ASSIGN_OR_RETURN(auto nodes, node_names(*client));
  std::map<std::string, const api::Task*> by_id;
  for (const auto& task : tasks) {
    by_id[task.id()] = &task;
  }
  for (const auto& line : logs.lines()) {
    auto task = by_id.find(line.task_id());
    std::string prefix = task != by_id.end() ? task_name(*task->second, false, false) : o.service;
    auto node = nodes.find(line.node_id());
    // The prefix names the node as it named itself: escaped. The line itself is the task's
    // output and prints as the task wrote it, colours included, as docker prints it.
    prefix +=
        "." + short_id(line.task_id()) + "@" +
        printable(node != nodes.end() && !node->second.empty() ? node->second : line.node_id());
    std::string text = line.line();
    if (!text.empty() && text.back() == '\n') {
      text.pop_back();
    }
    (line.stream() == "stderr" ? std::cerr : std::cout) << prefix << "    | " << text << "\n";
  }
  return Status();
}

// ---- scale / update ----

struct ScaleOptions {
  bool detach = false;
  std::vector<std::string> pairs;
};

Status service_scale(Context& ctx, const ScaleOptions& o) {
  std::vector<std::pair<std::string, uint64_t>> targets;
  for (const auto& pair : o.pairs) {
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string::npos) {
      return usage_error("invalid scale specifier \"" + pair + "\": expected SERVICE=REPLICAS");
    }
    SHOAL_ASSIGN_OR_RETURN(uint64_t replicas,
                           parse_count(pair.substr(eq + 1), "replicas for " + pair.substr(0, eq)));
    targets.emplace_back(pair.substr(0, eq), replicas);
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  std::vector<std::string> scaled;  // service ids to watch
  bool any_failed = false;
  for (const auto& [name, replicas] : targets) {
    auto result = [&, &name = name, replicas = replicas]() -> Status {
      SHOAL_ASSIGN_OR_RETURN(auto service, get_service(*client, name));
      if (service.spec().mode() == "global") {
        return usage_error(name + ": scale can only be used with replicated mode");
      }
      api::UpdateServiceRequest request;
      request.set_id(service.id());
      *request.mutable_spec() = service.spec();
      request.mutable_spec()->set_replicas(replicas);
      request.set_version(service.version());
      SHOAL_TRY(client->control(&api::Control::Stub::UpdateService, request));
      std::cout << name << " scaled to " << replicas << "\n";
      scaled.push_back(service.id());
      return Status();
    }();
    if (!result.ok()) {
      if (result.error().op == kConnectOp) {
        return result;
      }
      std::cerr << user_message(result.error()) << "\n";
      any_failed = true;
    }
  }
  if (!o.detach) {
    for (const auto& id : scaled) {
      SHOAL_TRY(watch_progress(*client, id, std::cout, stdout_is_tty()));
    }
  }
  return any_failed ? reported_error() : Status();
}

struct UpdateOptions {
  std::string replicas;
  std::vector<std::string> env_add;
  std::vector<std::string> env_rm;
  std::vector<std::string> constraint_add;
  std::vector<std::string> constraint_rm;
  std::vector<std::string> placement_pref_add;
  std::vector<std::string> placement_pref_rm;
  std::string max_replicas;
  std::optional<std::string> args;  // replaces the arguments after the command
  UpdateFlags update;
  UpdateFlags rollback_flags;
  bool rollback = false;
  std::vector<std::string> publish_add;
  std::vector<std::string> publish_rm;
  bool force = false;
  bool detach = false;
  bool quiet = false;
  std::string service;
};

// --constraint-add/-rm, --placement-pref-add/-rm (removal by exact text, as Docker's), and
// --replicas-max-per-node.
Status edit_placement(const UpdateOptions& o, api::ServiceSpec& spec) {
  auto edit = [](auto* list, const std::vector<std::string>& remove,
                 const std::vector<std::string>& add) {
    std::vector<std::string> kept;
    for (const auto& item : *list) {
      if (std::find(remove.begin(), remove.end(), item) == remove.end()) {
        kept.push_back(item);
      }
    }
    for (const auto& item : add) {
      if (std::find(kept.begin(), kept.end(), item) == kept.end()) {
        kept.push_back(item);
      }
    }
    list->Clear();
    for (const auto& item : kept) {
      *list->Add() = item;
    }
  };
  for (const auto& c : o.constraint_add) {
    if (c.find("==") == std::string::npos && c.find("!=") == std::string::npos) {
      return usage_error("invalid constraint \"" + c + "\": expected KEY==VALUE or KEY!=VALUE");
    }
  }
  edit(spec.mutable_constraints(), o.constraint_rm, o.constraint_add);
  edit(spec.mutable_placement_prefs(), o.placement_pref_rm, o.placement_pref_add);
  if (!o.max_replicas.empty()) {
    SHOAL_ASSIGN_OR_RETURN(uint64_t max_replicas,
                           parse_count(o.max_replicas, "--replicas-max-per-node"));
    spec.set_max_replicas_per_node(max_replicas);
  }
  return Status();
}

// --args "a b c": split on blanks (no shell quoting).
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) {
        words.push_back(word);
      }
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  return words;
}

Status service_rollback(Context& ctx, const std::string& name, bool detach) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto service, get_service(*client, name));
  api::IdRequest request;
  request.set_id(service.id());
  SHOAL_TRY(client->control(&api::Control::Stub::RollbackService, request));
  std::cout << name << "\n";
  if (detach) {
    return Status();
  }
  return watch_progress(*client, service.id(), std::cout, stdout_is_tty());
}

Status service_update(Context& ctx, const UpdateOptions& o) {
  if (o.rollback) {
    return service_rollback(ctx, o.service, o.detach || o.quiet);
  }
  std::optional<uint64_t> replicas;
  if (!o.replicas.empty()) {
    SHOAL_ASSIGN_OR_RETURN(replicas, parse_count(o.replicas, "--replicas"));
  }
  std::vector<std::string> env_add;
  for (const auto& e : o.env_add) {
    SHOAL_ASSIGN_OR_RETURN(auto entry, parse_env(e));
    env_add.push_back(entry);
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto service, get_service(*client, o.service));
  api::ServiceSpec spec = service.spec();
  if (replicas) {
    if (spec.mode() == "global") {
      return usage_error("replicas can only be used with replicated mode");
    }
    spec.set_replicas(*replicas);
  }
  // --env-rm K and --env-add K=V both replace any entry for K.
  auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::set<std::string> drop(o.env_rm.begin(), o.env_rm.end());
  for (const auto& entry : env_add) {
    drop.insert(key_of(entry));
  }
  std::vector<std::string> env;
  for (const auto& entry : spec.env()) {
    if (drop.count(key_of(entry)) == 0) {
      env.push_back(entry);
    }
  }
  env.insert(env.end(), env_add.begin(), env_add.end());
  spec.clear_env();
  for (const auto& entry : env) {
    spec.add_env(entry);
  }
  SHOAL_TRY(edit_placement(o, spec));
  if (o.args) {
    spec.clear_args();
    for (const auto& word : split_words(*o.args)) {
      spec.add_args(word);
    }
  }
  if (!spec.has_update_config()) {
    default_update_config(*spec.mutable_update_config());
  }
  if (!spec.has_rollback_config()) {
    default_update_config(*spec.mutable_rollback_config());
  }
  SHOAL_TRY(apply_update_flags(o.update, "--update", *spec.mutable_update_config()));
  SHOAL_TRY(apply_update_flags(o.rollback_flags, "--rollback", *spec.mutable_rollback_config()));
  SHOAL_TRY(update_ports(spec, o.publish_add, o.publish_rm));
  api::UpdateServiceRequest request;
  request.set_id(service.id());
  *request.mutable_spec() = spec;
  request.set_version(service.version());
  request.set_force(o.force);
  SHOAL_TRY(client->control(&api::Control::Stub::UpdateService, request));
  std::cout << o.service << "\n";
  if (o.detach || o.quiet) {
    return Status();
  }
  return watch_progress(*client, service.id(), std::cout, stdout_is_tty());
}

}  // namespace

void add_service_commands(CLI::App& app, Context& ctx) {
  auto* service = app.add_subcommand("service", "Manage swarm services");
  service->require_subcommand(1);

  auto c = std::make_shared<CreateOptions>();
  auto* create = service->add_subcommand("create", "Create a new service");
  create->positionals_at_end();  // everything from the command on belongs to the command
  create->add_option("--name", c->name, "Service name")->required();
  create->add_option("--replicas", c->replicas, "Number of tasks (default 1)");
  create->add_option("--mode", c->mode, "replicated or global")
      ->check(CLI::IsMember({"replicated", "global"}));
  create->add_option("--network", c->networks, "Network attachments: NET or name=NET,alias=A")
      ->allow_extra_args(false);
  create->add_option("-e,--env", c->env, "Set environment variables")->allow_extra_args(false);
  create->add_option("--constraint", c->constraints, "Placement constraints")
      ->allow_extra_args(false);
  create->add_option("--restart-condition", c->restart_condition, "any, on-failure or none")
      ->check(CLI::IsMember({"any", "on-failure", "none"}));
  create->add_option("--restart-delay", c->restart_delay, "Delay between restart attempts (5s)");
  create->add_option("--restart-max-attempts", c->restart_max_attempts,
                     "Maximum number of restarts before giving up (0: no limit)");
  create->add_option("--stop-grace-period", c->stop_grace_period,
                     "Time to wait before force killing a task (10s)");
  create->add_option("--max-replicas,--replicas-max-per-node", c->max_replicas,
                     "Maximum number of tasks per node (0: no limit)");
  create
      ->add_option("--placement-pref", c->placement_prefs,
                   "Add a placement preference (spread=node.labels.X)")
      ->allow_extra_args(false);
  add_update_flags(create, c->update, c->rollback);
  create->add_option("-p,--publish", c->publish, "Publish a port as a node port")
      ->allow_extra_args(false);
  create->add_option("--endpoint-mode", c->endpoint_mode, "vip or dnsrr")
      ->check(CLI::IsMember({"vip", "dnsrr"}));
  create->add_option("--config", c->configs, "Specify configurations to expose to the service")
      ->allow_extra_args(false);
  create->add_option("-l,--label", c->labels, "Service labels")->allow_extra_args(false);
  create->add_flag("-d,--detach", c->detach, "Exit immediately instead of waiting to converge");
  create->add_flag("-q,--quiet", c->quiet, "Suppress progress output");
  create->add_option("COMMAND", c->command, "-- CMD [ARG...]")->required();
  on_parsed(create, ctx, [&ctx, c] { return service_create(ctx, *c); });

  auto ls = std::make_shared<ListOptions>();
  auto* ls_cmd = service->add_subcommand("ls", "List services");
  ls_cmd->alias("list");
  ls_cmd->add_flag("-q,--quiet", ls->quiet, "Only display IDs");
  ls_cmd->add_flag("--no-trunc", ls->no_trunc, "Do not truncate IDs");
  ls_cmd->add_option("--format", ls->format, "json or table");
  on_parsed(ls_cmd, ctx, [&ctx, ls] { return service_ls(ctx, *ls); });

  auto ps = std::make_shared<ListOptions>();
  auto* ps_cmd = service->add_subcommand("ps", "List the tasks of one or more services");
  ps_cmd->add_flag("-q,--quiet", ps->quiet, "Only display task IDs");
  ps_cmd->add_flag("--no-trunc", ps->no_trunc, "Do not truncate output");
  ps_cmd->add_option("--format", ps->format, "json or table");
  ps_cmd->add_option("SERVICE", ps->services, "Service name or id")->required();
  on_parsed(ps_cmd, ctx, [&ctx, ps] { return service_ps(ctx, *ps); });

  auto inspect = std::make_shared<InspectOptions>();
  auto* inspect_cmd =
      service->add_subcommand("inspect", "Display detailed information on services");
  inspect_cmd->add_flag("--pretty", inspect->pretty,
                        "Print the information in a human friendly format");
  inspect_cmd->add_option("SERVICE", inspect->names, "Service name or id")->required();
  on_parsed(inspect_cmd, ctx, [&ctx, inspect] { return service_inspect(ctx, *inspect); });

  auto rm = std::make_shared<std::vector<std::string>>();
  auto* rm_cmd = service->add_subcommand("rm", "Remove one or more services");
  rm_cmd->alias("remove");
  rm_cmd->add_option("SERVICE", *rm, "Service name or id")->required();
  on_parsed(rm_cmd, ctx, [&ctx, rm] { return service_rm(ctx, *rm); });

  auto logs = std::make_shared<LogsOptions>();
  auto* logs_cmd = service->add_subcommand("logs", "Fetch the logs of a service");
  logs_cmd->add_option("-n,--tail", logs->tail,
                       "Number of lines to show from the end of each task's logs (default all)");
  logs_cmd->add_option("SERVICE", logs->service, "Service name or id")->required();
  on_parsed(logs_cmd, ctx, [&ctx, logs] { return service_logs(ctx, *logs); });

  auto scale = std::make_shared<ScaleOptions>();
  auto* scale_cmd = service->add_subcommand("scale", "Scale one or multiple replicated services");
  scale_cmd->add_flag("-d,--detach", scale->detach,
                      "Exit immediately instead of waiting to converge");
  scale_cmd->add_option("SERVICE=REPLICAS", scale->pairs, "Services and their task counts")
      ->required();
  on_parsed(scale_cmd, ctx, [&ctx, scale] { return service_scale(ctx, *scale); });

  auto u = std::make_shared<UpdateOptions>();
  auto* update = service->add_subcommand("update", "Update a service");
  update->add_option("--replicas", u->replicas, "Number of tasks");
  update->add_option("--env-add", u->env_add, "Add or update an environment variable")
      ->allow_extra_args(false);
  update->add_option("--env-rm", u->env_rm, "Remove an environment variable")
      ->allow_extra_args(false);
  update->add_option("--publish-add", u->publish_add, "Add or update a published port")
      ->allow_extra_args(false);
  update->add_option("--publish-rm", u->publish_rm, "Remove a published port by its target port")
      ->allow_extra_args(false);
  update->add_flag("--force", u->force, "Replace every task even if nothing changed");
  update->add_flag("--rollback", u->rollback, "Roll back to the previous specification");
  update->add_option("--args", u->args, "Service command args (replaces them)");
  update->add_option("--constraint-add", u->constraint_add, "Add or update a placement constraint")
      ->allow_extra_args(false);
  update->add_option("--constraint-rm", u->constraint_rm, "Remove a constraint")
      ->allow_extra_args(false);
  update->add_option("--placement-pref-add", u->placement_pref_add, "Add a placement preference")
      ->allow_extra_args(false);
  update->add_option("--placement-pref-rm", u->placement_pref_rm, "Remove a placement preference")
      ->allow_extra_args(false);
  update->add_option("--replicas-max-per-node", u->max_replicas,
                     "Maximum number of tasks per node (0: no limit)");
  add_update_flags(update, u->update, u->rollback_flags);
  update->add_flag("-d,--detach", u->detach, "Exit immediately instead of waiting to converge");
  update->add_flag("-q,--quiet", u->quiet, "Suppress progress output");
  update->add_option("SERVICE", u->service, "Service name or id")->required();
  on_parsed(update, ctx, [&ctx, u] { return service_update(ctx, *u); });

  auto rb = std::make_shared<std::pair<std::string, bool>>();
  auto* rollback =
      service->add_subcommand("rollback", "Revert changes to a service's configuration");
  rollback->add_flag("-d,--detach", rb->second, "Exit immediately instead of waiting to converge");
  rollback->add_option("SERVICE", rb->first, "Service name or id")->required();
  on_parsed(rollback, ctx, [&ctx, rb] { return service_rollback(ctx, rb->first, rb->second); });
}

}  // namespace shoal::cli
