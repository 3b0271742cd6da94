#include "control/manager/rules/validation.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "control/manager/rules/constraint.h"

namespace shoal::manager {

namespace {
bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

Status validate_update_config(const std::string& object, const char* which,
                              const UpdateConfig& config) {
  std::string what = object + " " + which;
  if (config.delay.count() < 0) {
    return invalid_argument(what, "delay is negative");
  }
  if (config.monitor.count() < 0) {
    return invalid_argument(what, "monitor is negative");
  }
  if (!(config.max_failure_ratio >= 0 && config.max_failure_ratio <= 1)) {
    return invalid_argument(what, "max failure ratio must be between 0 and 1");
  }
  return {};
}
}  // namespace

// Aliases are resolved like service names, so they follow the same label rules; an alias only
// means something on a network the service is on.
Status validate_network_aliases(const std::string& object, const ServiceSpec& spec) {
  for (const auto& [network, aliases] : spec.network_aliases) {
    if (std::find(spec.networks.begin(), spec.networks.end(), network) == spec.networks.end()) {
      return invalid_argument(object, "has aliases on network " + network + ", which it is not on");
    }
    std::set<std::string> seen;
    for (const auto& alias : aliases) {
      SHOAL_TRY(validate_name("network alias", alias));
      if (!seen.insert(alias).second) {
        return invalid_argument(
            object, "network alias \"" + alias + "\" is given twice on network " + network);
      }
    }
  }
  return {};
}

Result<std::string> spread_label(std::string_view preference) {
  constexpr std::string_view kPrefix = "spread=node.labels.";
  if (!preference.starts_with(kPrefix) || preference.size() == kPrefix.size()) {
    return invalid_argument("placement preference \"" + std::string(preference) + "\"",
                            "expected spread=node.labels.<label>");
  }
  return std::string(preference.substr(kPrefix.size()));
}

Status validate_name(std::string_view what, std::string_view name) {
  if (name.empty()) {
    return invalid_argument(std::string(what) + " name", "is empty");
  }
  std::string object = std::string(what) + " name \"" + std::string(name) + "\"";
  if (name.size() > 63) {
    return invalid_argument(object, "is longer than 63 characters");
  }
  for (char c : name) {
    if (!alnum(c) && c != '-' && c != '_') {
      return invalid_argument(object, "may hold only letters, digits, '-' and '_'");
    }
  }
  if (!alnum(name.front()) || !alnum(name.back())) {
    return invalid_argument(object, "must start and end with a letter or digit");
  }
  return {};
}

Status validate_service_spec(const ServiceSpec& spec) {
  SHOAL_TRY(validate_name("service", spec.name));
  std::string object = "service " + spec.name;
  if (spec.command.empty() || spec.command.front().empty()) {
    return invalid_argument(object, "needs a command");
  }
  for (const auto& entry : spec.env) {
    auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      return invalid_argument(object,
                              "environment entry \"" + entry + "\" is not of the form KEY=VALUE");
    }
  }
  if (spec.global && spec.max_replicas_per_node != 0) {
    return invalid_argument(object, "max replicas per node can only be used in replicated mode");
  }
  std::set<std::string> networks;
  for (const auto& network : spec.networks) {
    if (!networks.insert(network).second) {
      return invalid_argument(object, "network " + network + " is listed more than once");
    }
  }
  SHOAL_TRY(validate_network_aliases(object, spec));
  std::set<std::pair<Protocol, uint16_t>> published;
  bool ingress = false;
  for (const auto& port : spec.ports) {
    if (port.target == 0) {
      return invalid_argument(object, "a published port needs a target port");
    }
    if (port.published != 0 && !published.emplace(port.protocol, port.published).second) {
      return invalid_argument(object, "port " + std::to_string(port.published) + "/" +
                                          std::string(to_string(port.protocol)) +
                                          " is published more than once");
    }
    ingress = ingress || port.mode == PublishMode::kIngress;
  }
  if (ingress && spec.endpoint_mode == EndpointMode::kDnsrr) {
    return invalid_argument(object,
                            "ports published in ingress mode need endpoint mode vip, not dnsrr");
  }
  SHOAL_TRY(Constraint::parse_all(spec.constraints));
  if (spec.restart.delay.count() < 0) {
    return invalid_argument(object, "restart delay is negative");
  }
  if (spec.stop_grace_period.count() < 0) {
    return invalid_argument(object, "stop grace period is negative");
  }
  for (const auto& preference : spec.placement_prefs) {
    SHOAL_TRY(spread_label(preference));
  }
  SHOAL_TRY(validate_update_config(object, "update", spec.update));
  SHOAL_TRY(validate_update_config(object, "rollback", spec.rollback));
  if (spec.rollback.failure_action == FailureAction::kRollback) {
    return invalid_argument(object + " rollback", "failure action must be pause or continue");
  }
  return {};
}

Status validate_network(const Network& network) {
  SHOAL_TRY(validate_name("network", network.name));
  if (network.driver != "overlay") {
    return invalid_argument("network " + network.name,
                            "driver \"" + network.driver + "\" is not supported (overlay)");
  }
  if (network.gateway && !network.subnet) {
    return invalid_argument("network " + network.name, "a gateway needs an explicit subnet");
  }
  if (network.subnet && network.gateway && !network.subnet->is_host_address(*network.gateway)) {
    return invalid_argument("gateway " + network.gateway->str(),
                            "is not a host address of subnet " + network.subnet->str());
  }
  return {};
}

}  // namespace shoal::manager
