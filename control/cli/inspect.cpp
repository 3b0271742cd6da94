#include "control/cli/inspect.h"

#include <chrono>
#include <map>

#include "control/cli/duration.h"
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

std::string ms(uint64_t value) {
  return format_duration(std::chrono::milliseconds(static_cast<int64_t>(value)));
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& values,
                 const std::string& sep) {
  std::string text;
  for (const auto& v : values) {
    text += (text.empty() ? "" : sep) + v;
  }
  return text;
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
          {"Ingress", network.ingress()}};
}

nlohmann::json to_json(const api::Service& service) {
  const auto& spec = service.spec();
  nlohmann::json vips = nlohmann::json::array();
  for (const auto& vip : service.vips()) {
    vips.push_back({{"NetworkID", vip.network_id()}, {"Addr", vip.addr()}});
  }
  return {{"ID", service.id()},
          {"Version", {{"Index", service.version()}}},
          {"SpecVersion", service.spec_version()},
          {"Spec",
           {{"Name", spec.name()},
            {"Mode", spec.mode()},
            {"Replicas", spec.replicas()},
            {"Command", strings(spec.command())},
            {"Args", strings(spec.args())},
            {"Env", strings(spec.env())},
            {"Networks", strings(spec.networks())},
            {"Ports", ports_json(spec.ports())},
            {"EndpointMode", spec.endpoint_mode()},
            {"Constraints", strings(spec.constraints())},
            {"RestartPolicy",
             {{"Condition", spec.restart().condition()},
              {"Delay", ms(spec.restart().delay_ms())},
              {"MaxAttempts", spec.restart().max_attempts()}}},
            {"StopGracePeriod", ms(spec.stop_grace_ms())},
            {"MaxReplicasPerNode", spec.max_replicas_per_node()}}},
          {"Endpoint", {{"Ports", ports_json(service.endpoint_ports())}, {"VirtualIPs", vips}}}};
}

std::string pretty(const api::Node& node) {
  std::string text = "ID:\t\t\t" + node.id() + "\n";
  if (!node.labels().empty()) {
    text += "Labels:\n";
    std::map<std::string, std::string> labels(node.labels().begin(), node.labels().end());
    for (const auto& [k, v] : labels) {
      text += " - " + k + "=" + v + "\n";
    }
  }
  text += "Hostname:\t\t" + node.hostname() + "\n";
  text += "Status:\n";
  text += " State:\t\t\t" + capitalise(node.status()) + "\n";
  text += " Availability:\t\t" + capitalise(node.availability()) + "\n";
  text += " Address:\t\t" + node.addr() + "\n";
  if (node.role() == "manager") {
    text += "Manager Status:\n";
    text += " Raft Status:\t\t" +
            (node.status() == "down" ? std::string("Unreachable") : std::string("Reachable")) +
            "\n";
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
  if (!spec.constraints().empty() || spec.max_replicas_per_node() > 0) {
    text += "Placement:\n";
    if (!spec.constraints().empty()) {
      text += " Constraints:\t[" + join(spec.constraints(), " ") + "]\n";
    }
    if (spec.max_replicas_per_node() > 0) {
      text += " Max Replicas Per Node:\t" + std::to_string(spec.max_replicas_per_node()) + "\n";
    }
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
    text += "Networks:\t" + join(spec.networks(), " ") + "\n";
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

std::string dump_array(const nlohmann::json& array) {
  return array.dump(4) + "\n";
}

}  // namespace shoal::cli
