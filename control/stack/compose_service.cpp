#include "control/stack/compose_service.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace shoal::stack {
namespace {

using Entries = std::vector<std::pair<std::string, YAML::Node>>;

// Keys a task on the host cannot honour, and why (docker's keys; Shoal has no images,
// containers or volumes).
const std::map<std::string, std::string>& unsupported_service_keys() {
  static const std::map<std::string, std::string> keys = {
      {"build", "Shoal runs commands, not images"},
      {"volumes", "volumes are not supported yet"},
      {"secrets", "secrets are not supported yet; use configs"},
      {"healthcheck", "health checks are not supported yet"},
      {"user", "tasks run as root"},
      {"working_dir", "tasks start in /"},
      {"hostname", "a task's hostname is its id"},
      {"labels", "tasks are not containers and have no labels; use deploy.labels"},
      {"logging", "logs stay on the node (service logs)"},
      {"cap_add", "tasks are not containers"},
      {"cap_drop", "tasks are not containers"},
      {"privileged", "tasks are not containers"},
      {"devices", "tasks are not containers"},
      {"container_name", "docker stack refuses it too"},
      {"depends_on", "docker stack ignores it; services start together"},
      {"links", "services reach each other by name"},
      {"extra_hosts", "not supported yet"},
      {"dns", "tasks resolve through the embedded DNS"},
      {"dns_search", "tasks resolve through the embedded DNS"},
      {"env_file", "not supported yet; use environment"},
      {"expose", "every port of a task is reachable on its networks"},
      {"network_mode", "tasks use overlay networks"},
      {"ulimits", "not supported yet"},
      {"sysctls", "not supported yet"},
      {"tmpfs", "not supported yet"},
      {"init", "the task shim already reaps orphans"},
      {"stdin_open", "tasks have no terminal"},
      {"tty", "tasks have no terminal"},
  };
  return keys;
}

bool extension(const std::string& key) {
  return key.rfind("x-", 0) == 0;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

void parse_environment(YamlReader& r, const YAML::Node& node, const std::string& path,
                       const ComposeOptions& options, api::ServiceSpec& spec) {
  auto add = [&](const std::string& name, std::optional<std::string> value) {
    if (!value && options.lookup_env)
      value = options.lookup_env(name);
    if (value)
      spec.add_env(name + "=" + *value);
  };
  if (node.IsSequence()) {
    auto list = r.strings(node, path);
    for (const auto& item : list.value_or(std::vector<std::string>{})) {
      const size_t eq = item.find('=');
      if (eq == 0) {
        r.error(path, "\"" + item + "\": empty variable name");
        continue;
      }
      add(item.substr(0, eq),
          eq == std::string::npos ? std::nullopt : std::optional(item.substr(eq + 1)));
    }
    return;
  }
  auto map = r.entries(node, path);
  for (const auto& [name, value] : map.value_or(Entries{})) {
    if (value.IsNull()) {
      add(name, std::nullopt);
    } else if (auto text = r.text(value, path + "." + name)) {
      add(name, *text);
    }
  }
}

void parse_networks(YamlReader& r, const YAML::Node& node, const std::string& path,
                    api::ServiceSpec& spec) {
  if (node.IsSequence()) {
    for (const auto& name : r.strings(node, path).value_or(std::vector<std::string>{}))
      spec.add_networks(name);
    return;
  }
  auto map = r.entries(node, path);
  for (const auto& [name, value] : map.value_or(Entries{})) {
    spec.add_networks(name);
    if (value.IsNull())
      continue;
    for (const auto& [option, v] : r.entries(value, path + "." + name).value_or(Entries{})) {
      const std::string at = path + "." + name + "." + option;
      if (option != "aliases") {
        // ipv4_address...: addresses come from the network's pool.
        r.error(at, "not supported");
        continue;
      }
      auto aliases = r.strings(v, at);
      if (!aliases || aliases->empty())
        continue;
      auto& entry = *spec.add_network_aliases();
      entry.set_network(name);  // the compose key, until compose.cpp names the network
      for (const auto& alias : *aliases)
        entry.add_aliases(alias);
    }
  }
}

std::optional<uint32_t> port_number(YamlReader& r, const std::string& text,
                                    const std::string& path) {
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n == 0 ||
      n > 65535) {
    r.error(path, "invalid port \"" + text + "\": expected 1-65535");
    return std::nullopt;
  }
  return n;
}

// "80", "8080:80", "8080:80/udp"; host addresses and ranges are refused.
void parse_short_port(YamlReader& r, const std::string& text, const std::string& path,
                      api::ServiceSpec& spec) {
  std::string ports = text;
  std::string protocol = "tcp";
  if (const size_t slash = text.find('/'); slash != std::string::npos) {
    ports = text.substr(0, slash);
    protocol = text.substr(slash + 1);
  }
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
    r.error(path, "\"" + text + "\": protocol must be tcp, udp or sctp");
    return;
  }
  if (ports.find('-') != std::string::npos) {
    r.error(path, "\"" + text + "\": port ranges are not supported");
    return;
  }
  const size_t colons = static_cast<size_t>(std::count(ports.begin(), ports.end(), ':'));
  if (colons > 1) {
    r.error(path, "\"" + text + "\": a host address is not supported (the routing mesh " +
                      "publishes on every address)");
    return;
  }
  auto& port = *spec.add_ports();
  port.set_protocol(protocol);
  port.set_mode("ingress");
  const size_t colon = ports.find(':');
  if (colon == std::string::npos) {
    if (auto target = port_number(r, ports, path))
      port.set_target(*target);
    return;
  }
  auto published = port_number(r, ports.substr(0, colon), path);
  auto target = port_number(r, ports.substr(colon + 1), path);
  if (published && target) {
    port.set_published(*published);
    port.set_target(*target);
  }
}

void parse_long_port(YamlReader& r, const YAML::Node& node, const std::string& path,
                     api::ServiceSpec& spec) {
  auto& port = *spec.add_ports();
  port.set_protocol("tcp");
  port.set_mode("ingress");
  bool has_target = false;
  for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + key;
    auto text = r.text(value, at);
    if (!text)
      continue;
    if (key == "target") {
      if (auto n = port_number(r, *text, at)) {
        port.set_target(*n);
        has_target = true;
      }
    } else if (key == "published") {
      if (auto n = port_number(r, *text, at))
        port.set_published(*n);
    } else if (key == "protocol") {
      if (*text != "tcp" && *text != "udp" && *text != "sctp")
        r.error(at, "expected tcp, udp or sctp");
      port.set_protocol(*text);
    } else if (key == "mode") {
      if (*text != "ingress" && *text != "host")
        r.error(at, "expected ingress or host");
      port.set_mode(*text);
    } else {
      r.error(at, "unknown key");
    }
  }
  if (!has_target)
    r.error(path + ".target", "is required");
}

void parse_ports(YamlReader& r, const YAML::Node& node, const std::string& path,
                 api::ServiceSpec& spec) {
  if (!node.IsSequence()) {
    r.error(path, "expected a list");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (node[i].IsMap()) {
      parse_long_port(r, node[i], at, spec);
    } else if (auto text = r.text(node[i], at)) {
      parse_short_port(r, *text, at, spec);
    }
  }
}

void parse_configs(YamlReader& r, const YAML::Node& node, const std::string& path,
                   api::ServiceSpec& spec) {
  if (!node.IsSequence()) {
    r.error(path, "expected a list");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    api::ConfigReference ref;
    if (!node[i].IsMap()) {
      if (auto text = r.text(node[i], at)) {
        ref.set_config_name(*text);
        ref.set_target("/" + *text);
        *spec.add_configs() = ref;
      }
      continue;
    }
    for (const auto& [key, value] : r.entries(node[i], at).value_or(Entries{})) {
      const std::string key_path = at + "." + key;
      auto text = r.text(value, key_path);
      if (!text)
        continue;
      if (key == "source") {
        ref.set_config_name(*text);
      } else if (key == "target") {
        if (text->empty() || text->front() != '/')
          r.error(key_path, "must be an absolute path");
        ref.set_target(*text);
      } else if (key == "mode") {
        uint32_t mode = 0;
        // YAML 1.1 reads 0440 as octal; yaml-cpp hands us the text, which docker reads so too.
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), mode, 8);
        if (ec != std::errc() || end != text->data() + text->size() || mode > 0777)
          r.error(key_path, "expected an octal mode such as 0440");
        ref.set_mode(mode);
      } else if (key == "uid" || key == "gid") {
        if (*text != "0")
          r.error(key_path, "not supported: tasks run as root");
      } else {
        r.error(key_path, "unknown key");
      }
    }
    if (ref.config_name().empty()) {
      r.error(at + ".source", "is required");
      continue;
    }
    if (ref.target().empty())
      ref.set_target("/" + ref.config_name());
    *spec.add_configs() = ref;
  }
}

void parse_update_config(YamlReader& r, const YAML::Node& node, const std::string& path,
                         api::UpdateConfig& out) {
  for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + key;
    if (key == "parallelism") {
      out.set_parallelism(r.count(value, at).value_or(1));
    } else if (key == "delay") {
      out.set_delay_ms(r.duration_ms(value, at).value_or(0));
    } else if (key == "monitor") {
      out.set_monitor_ms(r.duration_ms(value, at).value_or(0));
    } else if (key == "max_failure_ratio") {
      out.set_max_failure_ratio(r.ratio(value, at).value_or(0));
    } else if (key == "failure_action") {
      auto text = r.text(value, at);
      if (text && *text != "pause" && *text != "continue" && *text != "rollback")
        r.error(at, "expected pause, continue or rollback");
      out.set_failure_action(text.value_or(""));
    } else if (key == "order") {
      auto text = r.text(value, at);
      if (text && *text != "stop-first" && *text != "start-first")
        r.error(at, "expected stop-first or start-first");
      out.set_order(text.value_or(""));
    } else {
      r.error(at, "unknown key");
    }
  }
}

void parse_placement(YamlReader& r, const YAML::Node& node, const std::string& path,
                     api::ServiceSpec& spec) {
  for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + key;
    if (key == "constraints") {
      for (const auto& c : r.strings(value, at).value_or(std::vector<std::string>{})) {
        if (c.find("==") == std::string::npos && c.find("!=") == std::string::npos)
          r.error(at, "\"" + c + "\": expected KEY==VALUE or KEY!=VALUE");
        spec.add_constraints(c);
      }
    } else if (key == "preferences") {
      if (!value.IsSequence()) {
        r.error(at, "expected a list");
        continue;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        const std::string item = at + "[" + std::to_string(i) + "]";
        for (const auto& [kind, target] : r.entries(value[i], item).value_or(Entries{})) {
          if (kind != "spread") {
            r.error(item + "." + kind, "not supported: only spread preferences exist");
          } else if (auto text = r.text(target, item + ".spread")) {
            spec.add_placement_prefs("spread=" + *text);
          }
        }
      }
    } else if (key == "max_replicas_per_node") {
      spec.set_max_replicas_per_node(r.count(value, at).value_or(0));
    } else {
      r.error(at, "unknown key");
    }
  }
}

void parse_restart_policy(YamlReader& r, const YAML::Node& node, const std::string& path,
                          api::ServiceSpec& spec) {
  auto& restart = *spec.mutable_restart();
  for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + key;
    if (key == "condition") {
      auto text = r.text(value, at);
      if (text && *text != "none" && *text != "on-failure" && *text != "any")
        r.error(at, "expected none, on-failure or any");
      restart.set_condition(text.value_or(""));
    } else if (key == "delay") {
      restart.set_delay_ms(r.duration_ms(value, at).value_or(0));
    } else if (key == "max_attempts") {
      restart.set_max_attempts(r.count(value, at).value_or(0));
    } else if (key == "window") {
      r.error(at, "not supported yet");
    } else {
      r.error(at, "unknown key");
    }
  }
}

void parse_deploy(YamlReader& r, const YAML::Node& node, const std::string& path,
                  api::ServiceSpec& spec) {
  for (const auto& [key, value] : r.entries(node, path).value_or(Entries{})) {
    const std::string at = path + "." + key;
    if (key == "mode") {
      auto text = r.text(value, at);
      if (text && *text != "replicated" && *text != "global")
        r.error(at, "expected replicated or global");
      spec.set_mode(text.value_or("replicated"));
    } else if (key == "replicas") {
      spec.set_replicas(r.count(value, at).value_or(1));
    } else if (key == "placement") {
      parse_placement(r, value, at, spec);
    } else if (key == "update_config") {
      parse_update_config(r, value, at, *spec.mutable_update_config());
    } else if (key == "rollback_config") {
      parse_update_config(r, value, at, *spec.mutable_rollback_config());
    } else if (key == "restart_policy") {
      parse_restart_policy(r, value, at, spec);
    } else if (key == "endpoint_mode") {
      auto text = r.text(value, at);
      if (text && *text != "vip" && *text != "dnsrr")
        r.error(at, "expected vip or dnsrr");
      spec.set_endpoint_mode(text.value_or("vip"));
    } else if (key == "labels") {
      for (const auto& [k, v] : r.labels(value, at).value_or(Labels{}))
        (*spec.mutable_labels())[k] = v;
    } else if (key == "resources") {
      r.error(at, "not supported yet");
    } else {
      r.error(at, "unknown key");
    }
  }
  if (spec.mode() == "global" && node["replicas"])
    r.error(path + ".replicas", "replicas can only be used with replicated mode");
}

}  // namespace

std::optional<StackService> parse_service(YamlReader& r, const std::string& key,
                                          const YAML::Node& node, const ComposeOptions& options) {
  const std::string path = "services." + key;
  auto map = r.entries(node, path);
  if (!map)
    return std::nullopt;
  const size_t errors_before = r.errors.size();
  StackService service;
  service.key = key;
  auto& spec = service.spec;
  spec.set_name(options.stack_name + "_" + key);
  spec.set_mode("replicated");
  spec.set_replicas(1);
  std::vector<std::string> entrypoint, command;
  bool has_image = false, has_networks = false, has_command = false;
  for (const auto& [name, value] : *map) {
    const std::string at = path + "." + name;
    if (name == "command" || name == "entrypoint")
      has_command = true;  // a bad one is reported as such, not as missing
    if (name == "command") {
      command = r.words(value, at).value_or(std::vector<std::string>{});
    } else if (name == "entrypoint") {
      entrypoint = r.words(value, at).value_or(std::vector<std::string>{});
    } else if (name == "image") {
      has_image = true;
    } else if (name == "environment") {
      parse_environment(r, value, at, options, spec);
    } else if (name == "networks") {
      has_networks = true;
      parse_networks(r, value, at, spec);
    } else if (name == "ports") {
      parse_ports(r, value, at, spec);
    } else if (name == "configs") {
      parse_configs(r, value, at, spec);
    } else if (name == "deploy") {
      parse_deploy(r, value, at, spec);
    } else if (name == "stop_grace_period") {
      spec.set_stop_grace_ms(r.duration_ms(value, at).value_or(0));
    } else if (auto why = unsupported_service_keys().find(name);
               why != unsupported_service_keys().end()) {
      r.error(at, "not supported: " + why->second);
    } else if (!extension(name)) {
      r.error(at, "unknown key");
    }
  }
  // Docker: the entrypoint is the command, `command` its arguments.
  std::vector<std::string> argv = entrypoint;
  argv.insert(argv.end(), command.begin(), command.end());
  if (argv.empty() && (!has_command || r.errors.size() == errors_before)) {
    r.error(path, has_image ? "image without a command: Shoal runs commands, not images (add "
                              "command: or entrypoint:)"
                            : "needs a command (command: or entrypoint:)");
  } else if (!argv.empty()) {
    spec.add_command(argv.front());
    for (size_t i = 1; i < argv.size(); ++i)
      spec.add_args(argv[i]);
    if (has_image)
      r.warn(path + ".image", "ignored: Shoal runs \"" + join_words(argv) + "\" on the host");
  }
  if (!has_networks)
    spec.add_networks("default");  // docker's NAME_default
  (*spec.mutable_labels())[kNamespaceLabel] = options.stack_name;
  if (r.errors.size() != errors_before)
    return std::nullopt;
  return service;
}

}  // namespace shoal::stack
