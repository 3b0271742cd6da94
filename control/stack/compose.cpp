#include "control/stack/compose.h"

#include <algorithm>
#include <set>

#include "control/stack/compose_service.h"
#include "control/stack/interpolate.h"
#include "control/stack/yaml_reader.h"

namespace shoal::stack {
namespace {

using Entries = std::vector<std::pair<std::string, YAML::Node>>;

bool extension(const std::string& key) {
  return key.rfind("x-", 0) == 0;
}

std::string resolve_path(const std::string& base_dir, const std::string& file) {
  if (file.empty() || file.front() == '/')
    return file;
  std::string relative = file.rfind("./", 0) == 0 ? file.substr(2) : file;
  return base_dir.empty() || base_dir == "." ? relative : base_dir + "/" + relative;
}

// `external: true`, or the older `external: {name: X}`; sets the name when one is given.
bool parse_external(YamlReader& r, const YAML::Node& node, const std::string& path,
                    std::string& name) {
  if (node.IsMap()) {
    for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
      if (key == "name") {
        name = r.text(value, path + ".name").value_or(name);
      } else {
        r.error(path + "." + key, "unknown key");
      }
    }
    return true;
  }
  return r.boolean(node, path).value_or(false);
}

void parse_ipam(YamlReader& r, const YAML::Node& node, const std::string& path,
                StackNetwork& network) {
  for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + key;
    if (key == "driver") {
      if (r.text(value, at).value_or("default") != "default")
        r.error(at, "only the default IPAM driver exists");
    } else if (key == "config") {
      if (!value.IsSequence() || value.size() > 1) {
        r.error(at, "expected a list of one subnet (a network has one IPv4 subnet)");
        continue;
      }
      for (const auto& [option, v] : r.entries(value[0], at + "[0]").value_or(Entries{})) {
        if (option == "subnet") {
          network.subnet = r.text(v, at + "[0].subnet").value_or("");
        } else {
          r.error(at + "[0]." + option, "not supported");
        }
      }
    } else {
      r.error(at, "not supported");
    }
  }
}

StackNetwork parse_network(YamlReader& r, const std::string& key, const YAML::Node& node,
                           const std::string& stack) {
  const std::string path = "networks." + key;
  StackNetwork network;
  network.key = key;
  network.name = stack + "_" + key;
  network.labels[kNamespaceLabel] = stack;
  if (node.IsNull())
    return network;
  std::string own_name;
  for (const auto& [name, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + name;
    if (name == "driver") {
      network.driver = r.text(value, at).value_or("overlay");
      if (network.driver != "overlay")
        r.error(at, "only overlay networks exist in a swarm");
    } else if (name == "attachable") {
      network.attachable = r.boolean(value, at).value_or(false);
    } else if (name == "ipam") {
      parse_ipam(r, value, at, network);
    } else if (name == "labels") {
      for (const auto& [k, v] : r.labels(value, at).value_or(Labels{}))
        network.labels[k] = v;
    } else if (name == "external") {
      network.external = parse_external(r, value, at, own_name);
    } else if (name == "name") {
      own_name = r.text(value, at).value_or("");
    } else if (name == "driver_opts" || name == "internal" || name == "enable_ipv6") {
      r.error(at, "not supported");
    } else if (!extension(name)) {
      r.error(at, "unknown key");
    }
  }
  if (!own_name.empty())
    network.name = own_name;
  else if (network.external)
    network.name = key;  // docker: an external network is named by its key
  return network;
}

StackConfig parse_config(YamlReader& r, const std::string& key, const YAML::Node& node,
                         const ComposeOptions& options) {
  const std::string path = "configs." + key;
  StackConfig config;
  config.key = key;
  config.name = options.stack_name + "_" + key;
  config.labels[kNamespaceLabel] = options.stack_name;
  std::string own_name;
  bool refused_source = false;
  for (const auto& [name, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + name;
    if (name == "file") {
      config.file = resolve_path(options.base_dir, r.text(value, at).value_or(""));
    } else if (name == "external") {
      config.external = parse_external(r, value, at, own_name);
    } else if (name == "name") {
      own_name = r.text(value, at).value_or("");
    } else if (name == "labels") {
      for (const auto& [k, v] : r.labels(value, at).value_or(Labels{}))
        config.labels[k] = v;
    } else if (name == "template_driver" || name == "content" || name == "environment") {
      r.error(at, "not supported: use file:");
      refused_source = true;
    } else if (!extension(name)) {
      r.error(at, "unknown key");
    }
  }
  if (!own_name.empty())
    config.name = own_name;
  else if (config.external)
    config.name = key;
  if (!config.external && config.file.empty() && !refused_source)
    r.error(path, "needs file: (or external: true)");
  return config;
}

void parse_version(YamlReader& r, const YAML::Node& node) {
  auto version = r.text(node, "version");
  if (version && !(*version == "3" || version->rfind("3.", 0) == 0))
    r.error("version", "\"" + *version + "\": only version 3 files are supported");
}

// Docker's stack deploy gives every service its short name (the compose key) as an alias on
// each of its networks, so the stack's services call `backend`, not `shop_backend`; the file's
// own `aliases:` follow it. Entries are keyed by full network name, without duplicates.
void add_aliases(StackService& service,
                 const std::vector<std::pair<std::string, std::string>>& full_names) {
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& entry : service.spec.network_aliases())
    by_key[entry.network()].assign(entry.aliases().begin(), entry.aliases().end());
  service.spec.clear_network_aliases();
  for (const auto& [key, name] : full_names) {
    auto& entry = *service.spec.add_network_aliases();
    entry.set_network(name);
    entry.add_aliases(service.key);
    for (const auto& alias : by_key[key]) {
      if (std::find(entry.aliases().begin(), entry.aliases().end(), alias) == entry.aliases().end())
        entry.add_aliases(alias);
    }
  }
}

// Rewrites the service's network and config keys to full names; records which are used.
void link_service(YamlReader& r, StackService& service,
                  std::map<std::string, StackNetwork>& networks,
                  const std::map<std::string, StackConfig>& configs, const std::string& stack,
                  std::set<std::string>& used_networks, std::set<std::string>& used_configs) {
  const std::string path = "services." + service.key;
  std::vector<std::pair<std::string, std::string>> full_names;  // compose key, network name
  for (auto& network : *service.spec.mutable_networks()) {
    const std::string key = network;
    auto found = networks.find(network);
    if (found == networks.end() && network == "default") {
      StackNetwork made;
      made.key = "default";
      made.name = stack + "_default";
      made.labels[kNamespaceLabel] = stack;
      found = networks.emplace("default", made).first;
    }
    if (found == networks.end()) {
      r.error(path + ".networks", "network \"" + network + "\" is not declared in networks");
      continue;
    }
    used_networks.insert(found->first);
    network = found->second.name;
    full_names.emplace_back(key, network);
  }
  add_aliases(service, full_names);
  for (int i = 0; i < service.spec.configs_size(); ++i) {
    auto& ref = *service.spec.mutable_configs(i);
    auto found = configs.find(ref.config_name());
    if (found == configs.end()) {
      r.error(path + ".configs[" + std::to_string(i) + "]",
              "config \"" + ref.config_name() + "\" is not declared in configs");
      continue;
    }
    used_configs.insert(found->first);
    ref.set_config_name(found->second.name);
  }
}

}  // namespace

ComposeResult parse_compose(std::string_view yaml, const ComposeOptions& options) {
  ComposeResult result;
  YamlReader r;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    result.errors.push_back("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    return result;
  }
  if (auto limit = check_expansion_limits(root); !limit.empty()) {
    result.errors.push_back(std::move(limit));
    return result;
  }
  // Before anything reads a value, as docker does: a substituted value is checked like a
  // written one. A file that cannot be substituted is not parsed further.
  interpolate_tree(root, "", options.lookup_env, r);
  if (!r.errors.empty()) {
    result.errors = std::move(r.errors);
    result.warnings = std::move(r.warnings);
    return result;
  }
  auto top = r.entries(root, "(top level)");
  std::vector<StackService> services;
  std::map<std::string, StackNetwork> networks;
  std::map<std::string, StackConfig> configs;
  bool has_services = false;
  for (const auto& [key, value] : top.value_or(Entries{})) {
    if (key == "version") {
      parse_version(r, value);
    } else if (key == "services") {
      has_services = true;
      for (const auto& [name, node] : r.entries(value, "services").value_or(Entries{})) {
        if (auto service = parse_service(r, name, node, options))
          services.push_back(std::move(*service));
      }
    } else if (key == "networks") {
      for (const auto& [name, node] : r.entries(value, "networks").value_or(Entries{}))
        networks.emplace(name, parse_network(r, name, node, options.stack_name));
    } else if (key == "configs") {
      for (const auto& [name, node] : r.entries(value, "configs").value_or(Entries{}))
        configs.emplace(name, parse_config(r, name, node, options));
    } else if (key == "volumes" || key == "secrets") {
      r.error(key, "not supported yet");
    } else if (key == "name") {
      r.error(key, "not supported: the stack's name is given on the command line");
    } else if (!extension(key)) {
      r.error(key, "unknown key");
    }
  }
  if (top && !has_services)
    r.error("services", "is required");
  std::set<std::string> used_networks, used_configs;
  for (auto& service : services)
    link_service(r, service, networks, configs, options.stack_name, used_networks, used_configs);
  for (const auto& [key, network] : networks) {
    if (!used_networks.contains(key))
      r.warn("networks." + key, "not used by any service: not created");
  }
  for (const auto& [key, config] : configs) {
    if (!used_configs.contains(key))
      r.warn("configs." + key, "not used by any service: not created");
  }
  result.errors = std::move(r.errors);
  result.warnings = std::move(r.warnings);
  if (!result.errors.empty())
    return result;
  StackSpec spec;
  spec.name = options.stack_name;
  spec.services = std::move(services);
  for (auto& [key, network] : networks) {
    if (used_networks.contains(key))
      spec.networks.push_back(std::move(network));
  }
  for (auto& [key, config] : configs) {
    if (used_configs.contains(key))
      spec.configs.push_back(std::move(config));
  }
  result.spec = std::move(spec);
  return result;
}

}  // namespace shoal::stack
