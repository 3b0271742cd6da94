// config create | ls | inspect | rm
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "control/cli/commands.h"
#include "control/cli/config_ref.h"
#include "control/cli/inspect.h"
#include "control/cli/views.h"

namespace shoal::cli {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 in UTC with milliseconds, as docker prints CreatedAt.
std::string rfc3339(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return std::string(text) + millis;
}

std::string ago(int64_t unix_ms) {
  return human_duration(now_ms() - unix_ms) + " ago";
}

Result<std::string> read_input(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return usage_error("error reading content from \"" + file + "\": cannot open it");
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CreateOptions {
  std::string name;
  std::string file;
  std::vector<std::string> labels;
};

Status config_create(Context& ctx, const CreateOptions& o) {
  api::CreateConfigRequest request;
  request.set_name(o.name);
  for (const auto& label : o.labels) {
    SHOAL_ASSIGN_OR_RETURN(auto kv, split_key_value(label, "--label", false));
    (*request.mutable_labels())[kv.first] = kv.second;
  }
  SHOAL_ASSIGN_OR_RETURN(auto data, read_input(o.file));
  request.set_data(std::move(data));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto config, client->control(&api::Control::Stub::CreateConfig, request));
  std::cout << config.id() << "\n";
  return Status();
}

struct LsOptions {
  bool quiet = false;
  std::string format = "table";
};

Status config_ls(Context& ctx, const LsOptions& o) {
  SHOAL_TRY(check_format(o.format));
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto list, client->control(&api::Control::Stub::ListConfigs, {}));
  std::vector<api::Config> configs(list.configs().begin(), list.configs().end());
  std::sort(configs.begin(), configs.end(),
            [](const api::Config& a, const api::Config& b) { return a.name() < b.name(); });
  if (o.quiet) {
    for (const auto& config : configs)
      std::cout << config.id() << "\n";
    return Status();
  }
  std::vector<Row> rows;
  for (const auto& config : configs) {
    const std::string created = ago(config.created_unix_ms());
    rows.push_back({config.id(), config.name(), created, created});
  }
  print_rows(o.format, {"ID", "NAME", "CREATED", "UPDATED"},
             {"ID", "Name", "CreatedAt", "UpdatedAt"}, rows);
  return Status();
}

nlohmann::json config_json(const api::Config& config) {
  std::map<std::string, std::string> labels(config.labels().begin(), config.labels().end());
  const std::string created = rfc3339(config.created_unix_ms());
  return {{"ID", config.id()},
          {"Version", {{"Index", config.version()}}},
          {"CreatedAt", created},
          {"UpdatedAt", created},
          {"Spec", {{"Name", config.name()}, {"Labels", labels}, {"Data", base64(config.data())}}}};
}

std::string config_pretty(const api::Config& config) {
  std::string text = "ID:\t\t\t" + config.id() + "\n";
  text += "Name:\t\t\t" + config.name() + "\n";
  if (!config.labels().empty()) {
    text += "Labels:\n";
    std::map<std::string, std::string> labels(config.labels().begin(), config.labels().end());
    for (const auto& [k, v] : labels)
      text += " - " + k + "=" + v + "\n";
  }
  const std::string created = rfc3339(config.created_unix_ms());
  text += "Created at:\t\t" + created + "\n";
  text += "Updated at:\t\t" + created + "\n";
  text += "Data:\n" + config.data();
  if (!config.data().empty() && config.data().back() != '\n')
    text += "\n";
  return text;
}

struct InspectOptions {
  bool pretty = false;
  std::vector<std::string> names;
};

Status config_inspect(Context& ctx, const InspectOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  nlohmann::json array = nlohmann::json::array();
  bool first = true;
  Status status = for_each_name(o.names, [&](const std::string& name) -> Status {
    api::IdRequest request;
    request.set_id(name);
    SHOAL_ASSIGN_OR_RETURN(auto config, client->control(&api::Control::Stub::GetConfig, request));
    if (o.pretty) {
      std::cout << (first ? "" : "\n\n") << config_pretty(config);
      first = false;
    } else {
      array.push_back(config_json(config));
    }
    return Status();
  });
  if (!o.pretty && (status.ok() || status.error().op != kConnectOp)) {
    std::cout << dump_array(array);
  }
  return status;
}

Status config_rm(Context& ctx, const std::vector<std::string>& names) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  return for_each_name(names, [&](const std::string& name) -> Status {
    api::IdRequest request;
    request.set_id(name);
    SHOAL_TRY(client->control(&api::Control::Stub::RemoveConfig, request));
    std::cout << name << "\n";
    return Status();
  });
}

}  // namespace

void add_config_commands(CLI::App& app, Context& ctx) {
  auto* config = app.add_subcommand("config", "Manage swarm configs");
  config->require_subcommand(1);

  auto create = std::make_shared<CreateOptions>();
  auto* create_cmd = config->add_subcommand("create", "Create a config from a file or STDIN");
  create_cmd->add_option("-l,--label", create->labels, "Config labels")->allow_extra_args(false);
  create_cmd->add_option("NAME", create->name, "Config name")->required();
  create_cmd->add_option("FILE", create->file, "File to read, or - for STDIN")->required();
  on_parsed(create_cmd, ctx, [&ctx, create] { return config_create(ctx, *create); });

  auto ls = std::make_shared<LsOptions>();
  auto* ls_cmd = config->add_subcommand("ls", "List configs");
  ls_cmd->alias("list");
  ls_cmd->add_flag("-q,--quiet", ls->quiet, "Only display IDs");
  ls_cmd->add_option("--format", ls->format, "json or table");
  on_parsed(ls_cmd, ctx, [&ctx, ls] { return config_ls(ctx, *ls); });

  auto inspect = std::make_shared<InspectOptions>();
  auto* inspect_cmd = config->add_subcommand("inspect", "Display detailed information on configs");
  inspect_cmd->add_flag("--pretty", inspect->pretty,
                        "Print the information, data included, as text");
  inspect_cmd->add_option("CONFIG", inspect->names, "Config name or id")->required();
  on_parsed(inspect_cmd, ctx, [&ctx, inspect] { return config_inspect(ctx, *inspect); });

  auto rm = std::make_shared<std::vector<std::string>>();
  auto* rm_cmd = config->add_subcommand("rm", "Remove one or more configs");
  rm_cmd->alias("remove");
  rm_cmd->add_option("CONFIG", *rm, "Config name or id")->required();
  on_parsed(rm_cmd, ctx, [&ctx, rm] { return config_rm(ctx, *rm); });
}

}  // namespace shoal::cli
