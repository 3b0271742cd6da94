#include "control/cli/inspect.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/printable.h"
#include "control/cli/views.h"

namespace shoal::cli {
namespace {

template <typename Repeated>
nlohmann::json strings(const Repeated& values) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& v : values) {
    array.push_back(v);
  }
  return array;
}

nlohmann::json ports_json(const google::protobuf::RepeatedPtrField<api::PortConfig>& ports) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& p : ports) {
    array.push_back({{"Protocol", p.protocol()},
                     {"TargetPort", p.target()},
                     {"PublishedPort", p.published()},
                     {"PublishMode", p.mode()}});
  }
  return array;
}

nlohmann::json configs_json(
    const google::protobuf::RepeatedPtrField<api::ConfigReference>& configs) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& c : configs) {
    array.push_back({{"ConfigID", c.config_id()},
                     {"ConfigName", c.config_name()},
                     {"File", {{"Name", c.target()}, {"Mode", c.mode()}}}});
  }
  return array;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ms(uint64_t value) {
  return format_duration(std::chrono::milliseconds(static_cast<int64_t>(value)));
}

template <typename Strings>
std::string join(const Strings& values, const std::string& sep) {
  std::string text;
  for (const auto& v : values) {
    text += (text.empty() ? "" : sep) + v;
  }
  return text;
}

std::vector<std::string> aliases_of(const api::ServiceSpec& spec, const std::string& network) {
  std::vector<std::string> out;
  for (const auto& entry : spec.network_aliases()) {
    if (entry.network() == network)
      out.insert(out.end(), entry.aliases().begin(), entry.aliases().end());
  }
  return out;
}

// Docker's TaskTemplate.Networks: one {Target, Aliases} per network.
nlohmann::json networks_json(const api::ServiceSpec& spec) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& network : spec.networks()) {
    nlohmann::json entry = {{"Target", network}};
    if (auto aliases = aliases_of(spec, network); !aliases.empty())
      entry["Aliases"] = aliases;
    array.push_back(std::move(entry));
  }
  return array;
}

}  // namespace

nlohmann::json to_json(const api::Node& node) {
  std::map<std::string, std::string> labels(node.labels().begin(), node.labels().end());
  return {{"ID", node.id()},
          {"Version", {{"Index", node.version()}}},
          {"Hostname", node.hostname()},
          {"Role", node.role()},
          {"Availability", node.availability()},
          {"Status", node.status()},
          {"Addr", node.addr()},
          {"Leader", node.leader()},
          {"ManagerStatus", node.manager_status()},
          {"LoadBalancer", node.lb_backend()},
          {"TLSInfo",
           {{"CertNotBefore", utc_time(node.cert_not_before())},
            {"CertNotAfter", utc_time(node.cert_not_after())},
            {"Status", tls_status(node, unix_now())}}},
          {"Labels", labels}};
}

nlohmann::json to_json(const api::Network& network) {
  return {{"ID", network.id()},
          {"Version", {{"Index", network.version()}}},
          {"Name", network.name()},
          {"Driver", network.driver()},
          {"Scope", "swarm"},
          {"VNI", network.vni()},
          {"Subnet", network.subnet()},
          {"Gateway", network.gateway()},
          {"Attachable", network.attachable()},
          {"Ingress", network.ingress()},
          {"Labels",
           std::map<std::string, std::string>(network.labels().begin(), network.labels().end())}};
}

// Docker's UpdateStatus: absent (null) until the service's first update.
nlohmann::json update_status_json(const api::UpdateStatus& status) {
  if (status.state().empty()) {
    return nullptr;
  }
  auto time = [](int64_t unix_ms) -> nlohmann::json {
    if (unix_ms == 0) {
      return nullptr;
    }
    auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(unix_ms % 1000));
    return std::string(text) + ms;
  };
  return {{"State", status.state()},
          {"StartedAt", time(status.started_unix_ms())},
          {"CompletedAt", time(status.completed_unix_ms())},
          {"Message", status.message()}};
}

nlohmann::json update_config_json(const api::UpdateConfig& config) {
  return {{"Parallelism", config.parallelism()},           {"Delay", ms(config.delay_ms())},
          {"FailureAction", config.failure_action()},      {"Monitor", ms(config.monitor_ms())},
          {"MaxFailureRatio", config.max_failure_ratio()}, {"Order", config.order()}};
}

nlohmann::json to_json(const api::Service& service) {
  const auto& spec = service.spec();
  nlohmann::json vips = nlohmann::json::array();
  for (const auto& vip : service.vips()) {
    vips.push_back({{"NetworkID", vip.network_id()}, {"Addr", vip.addr()}});
  }
  return {
      {"ID", service.id()},
      {"Version", {{"Index", service.version()}}},
      {"SpecVersion", service.spec_version()},
      {"UpdateStatus", update_status_json(service.update_status())},
      {"PreviousSpec", service.has_previous_spec()
                           ? nlohmann::json{{"Command", strings(service.previous_spec().command())},
                                            {"Args", strings(service.previous_spec().args())},
                                            {"Env", strings(service.previous_spec().env())}}
                           : nlohmann::json(nullptr)},
      {"Spec",
       {{"Name", spec.name()},
        {"Mode", spec.mode()},
        {"Replicas", spec.replicas()},
        {"Command", strings(spec.command())},
        {"Args", strings(spec.args())},
        {"Env", strings(spec.env())},
        {"Networks", networks_json(spec)},
        {"Ports", ports_json(spec.ports())},
        {"EndpointMode", spec.endpoint_mode()},
        {"Constraints", strings(spec.constraints())},
        {"RestartPolicy",
         {{"Condition", spec.restart().condition()},
          {"Delay", ms(spec.restart().delay_ms())},
          {"MaxAttempts", spec.restart().max_attempts()}}},
        {"StopGracePeriod", ms(spec.stop_grace_ms())},
        {"MaxReplicasPerNode", spec.max_replicas_per_node()},
        {"Preferences", strings(spec.placement_prefs())},
        {"UpdateConfig", update_config_json(spec.update_config())},
        {"RollbackConfig", update_config_json(spec.rollback_config())},
        {"Labels", std::map<std::string, std::string>(spec.labels().begin(), spec.labels().end())},
        {"Configs", configs_json(spec.configs())}}},
      {"Endpoint", {{"Ports", ports_json(service.endpoint_ports())}, {"VirtualIPs", vips}}}};
}

std::string pretty(const api::Node& node) {
  std::string text = "ID:\t\t\t" + node.id() + "\n";
  if (!node.labels().empty()) {
    text += "Labels:\n";
    std::map<std::string, std::string> labels(node.labels().begin(), node.labels().end());
    for (const auto& [k, v] : labels) {
      text += " - " + printable(k) + "=" + printable(v) + "\n";
    }
  }
  text += "Hostname:\t\t" + printable(node.hostname()) + "\n";
  text += "Status:\n";
  text += " State:\t\t\t" + capitalise(node.status()) + "\n";
  text += " Availability:\t\t" + capitalise(node.availability()) + "\n";
  text += " Address:\t\t" + node.addr() + "\n";
  text += "Load Balancer:\t\t" + (node.lb_backend().empty() ? "-" : node.lb_backend()) + "\n";
  if (node.cert_not_after() != 0) {
    auto status = tls_status(node, unix_now());
    text += "Certificate Expiry:\t" + utc_time(node.cert_not_after()) +
            (status == "Ready" ? "" : " (" + status + ")") + "\n";
  }
  if (node.role() == "manager") {
    text += "Manager Status:\n";
    auto reachability = manager_status(node) == "Unreachable" ? "Unreachable" : "Reachable";
    text += " Raft Status:\t\t" + std::string(reachability) + "\n";
    text += " Leader:\t\t" + std::string(node.leader() ? "Yes" : "No") + "\n";
  }
  text += "Engine Version:\t\t" + std::string(SHOAL_CLI_VERSION) + "\n";
  return text;
}

std::string pretty(const api::Service& service) {
  const auto& spec = service.spec();
  std::string text = "\nID:\t\t" + service.id() + "\n";
  text += "Name:\t\t" + spec.name() + "\n";
  text += "Service Mode:\t" + capitalise(spec.mode()) + "\n";
  if (spec.mode() != "global") {
    text += " Replicas:\t" + std::to_string(spec.replicas()) + "\n";
  }
  const auto& update = service.update_status();
  if (!update.state().empty()) {
    text += "UpdateStatus:\n";
    text += " State:\t\t" + update.state() + "\n";
    text += " Message:\t" + printable(update.message()) + "\n";
  }
  if (!spec.constraints().empty() || spec.max_replicas_per_node() > 0 ||
      !spec.placement_prefs().empty()) {
    text += "Placement:\n";
    if (!spec.placement_prefs().empty()) {
      text += " Preferences:\t[" + join(spec.placement_prefs(), " ") + "]\n";
    }
    if (!spec.constraints().empty()) {
      text += " Constraints:\t[" + join(spec.constraints(), " ") + "]\n";
    }
    if (spec.max_replicas_per_node() > 0) {
      text += " Max Replicas Per Node:\t" + std::to_string(spec.max_replicas_per_node()) + "\n";
    }
  }
  for (const auto& [title, config] : {std::pair{"UpdateConfig", &spec.update_config()},
                                      std::pair{"RollbackConfig", &spec.rollback_config()}}) {
    text += std::string(title) + ":\n";
    text += " Parallelism:\t" + std::to_string(config->parallelism()) + "\n";
    text += " Delay:\t\t" + ms(config->delay_ms()) + "\n";
    text += " On failure:\t" + config->failure_action() + "\n";
    text += " Monitoring Period: " + ms(config->monitor_ms()) + "\n";
    text += " Max failure ratio: " + std::to_string(config->max_failure_ratio()) + "\n";
    text += " Update order:      " + config->order() + "\n";
  }
  text += "RestartPolicy:\n";
  text += " Condition:\t" + spec.restart().condition() + "\n";
  text += " Delay:\t\t" + ms(spec.restart().delay_ms()) + "\n";
  text += " Max Attempts:\t" + std::to_string(spec.restart().max_attempts()) + "\n";
  text += "ContainerSpec:\n";
  text += " Command:\t" + join(spec.command(), " ") + "\n";
  if (!spec.args().empty()) {
    text += " Args:\t\t" + join(spec.args(), " ") + "\n";
  }
  if (!spec.env().empty()) {
    text += " Env:\t\t" + join(spec.env(), " ") + "\n";
  }
  text += " StopGracePeriod: " + ms(spec.stop_grace_ms()) + "\n";
  if (!spec.networks().empty()) {
    std::vector<std::string> words;
    for (const auto& network : spec.networks()) {
      auto aliases = aliases_of(spec, network);
      words.push_back(aliases.empty() ? network
                                      : network + " (aliases: " + join(aliases, " ") + ")");
    }
    text += "Networks:\t" + join(words, " ") + "\n";
  }
  text += "Endpoint Mode:\t" + spec.endpoint_mode() + "\n";
  const auto& ports = service.endpoint_ports().empty() ? spec.ports() : service.endpoint_ports();
  if (!ports.empty()) {
    text += "Ports:\n";
    for (const auto& p : ports) {
      text += " PublishedPort = " + std::to_string(p.published()) + "\n";
      text += "  Protocol = " + p.protocol() + "\n";
      text += "  TargetPort = " + std::to_string(p.target()) + "\n";
      text += "  PublishMode = " + p.mode() + "\n";
    }
  }
  return text;
}

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string dump_array(const nlohmann::json& array) {
  return dump_json(array, 4) + "\n";
}

}  // namespace shoal::cli
