#include "control/api/convert.h"

#include <chrono>

namespace shoal::api {
namespace {

int64_t unix_ms(manager::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void port_to_proto(const manager::PortConfig& port, PortConfig& out) {
  out.set_published(port.published);
  out.set_target(port.target);
  out.set_protocol(std::string(manager::to_string(port.protocol)));
  out.set_mode(std::string(manager::to_string(port.mode)));
}

Result<uint16_t> port_number(uint32_t value, const char* what, bool zero_ok) {
  if (value > 65535 || (value == 0 && !zero_ok)) {
    return invalid_argument(std::string(what) + " port " + std::to_string(value),
                            "expected 1-65535");
  }
  return static_cast<uint16_t>(value);
}

void config_ref_to_proto(const manager::ConfigReference& ref, ConfigReference& out) {
  out.set_config_id(ref.config_id);
  out.set_config_name(ref.config_name);
  out.set_target(ref.target);
  out.set_mode(ref.mode);
}

manager::ConfigReference config_ref_from_proto(const ConfigReference& ref) {
  return manager::ConfigReference{.config_id = ref.config_id(),
                                  .config_name = ref.config_name(),
                                  .target = ref.target(),
                                  .mode = ref.mode()};
}

}  // namespace

void to_proto(const manager::Config& config, bool with_data, Config& out) {
  out.set_id(config.id);
  out.set_name(config.name);
  if (with_data)
    out.set_data(config.data);
  out.mutable_labels()->insert(config.labels.begin(), config.labels.end());
  out.set_created_unix_ms(unix_ms(config.created_at));
  out.set_version(config.version);
}

void to_proto(const manager::Node& node, bool leader, Node& out) {
  out.set_id(node.id);
  out.set_hostname(node.hostname);
  out.set_role(std::string(manager::to_string(node.role)));
  out.set_availability(std::string(manager::to_string(node.availability)));
  out.set_status(std::string(manager::to_string(node.status)));
  out.mutable_labels()->insert(node.labels.begin(), node.labels.end());
  out.set_addr(node.addr.str());
  out.set_leader(leader);
  out.set_lb_backend(node.lb_backend);
  out.set_cert_not_before(node.cert_not_before);
  out.set_cert_not_after(node.cert_not_after);
  out.set_version(node.version);
}

void to_proto(const manager::Network& network, Network& out) {
  out.set_id(network.id);
  out.set_name(network.name);
  out.set_driver(network.driver);
  out.set_vni(network.vni);
  out.set_subnet(network.subnet ? network.subnet->str() : "");
  out.set_gateway(network.gateway ? network.gateway->str() : "");
  out.set_attachable(network.attachable);
  out.set_ingress(network.ingress);
  out.mutable_labels()->insert(network.labels.begin(), network.labels.end());
  out.set_version(network.version);
}

namespace {

void update_config_to_proto(const manager::UpdateConfig& config, UpdateConfig& out) {
  out.set_parallelism(config.parallelism);
  out.set_delay_ms(static_cast<uint64_t>(config.delay.count()));
  out.set_failure_action(std::string(manager::to_string(config.failure_action)));
  out.set_monitor_ms(static_cast<uint64_t>(config.monitor.count()));
  out.set_max_failure_ratio(config.max_failure_ratio);
  out.set_order(std::string(manager::to_string(config.order)));
}

Result<manager::UpdateConfig> update_config_from_proto(const UpdateConfig& config) {
  manager::UpdateConfig out;
  out.parallelism = config.parallelism();
  out.delay = manager::Duration(static_cast<int64_t>(config.delay_ms()));
  SHOAL_ASSIGN_OR_RETURN(out.failure_action,
                         manager::parse_failure_action(
                             config.failure_action().empty() ? "pause" : config.failure_action()));
  out.monitor = manager::Duration(static_cast<int64_t>(config.monitor_ms()));
  out.max_failure_ratio = config.max_failure_ratio();
  SHOAL_ASSIGN_OR_RETURN(out.order, manager::parse_update_order(
                                        config.order().empty() ? "stop-first" : config.order()));
  return out;
}

void aliases_to_proto(const manager::NetworkAliases& in,
                      google::protobuf::RepeatedPtrField<NetworkAliases>& out) {
  for (const auto& [network, aliases] : in) {
    auto& entry = *out.Add();
    entry.set_network(network);
    for (const auto& alias : aliases)
      entry.add_aliases(alias);
  }
}

// Entries naming the same network are merged (a client may list one network twice).
manager::NetworkAliases aliases_from_proto(
    const google::protobuf::RepeatedPtrField<NetworkAliases>& in) {
  manager::NetworkAliases out;
  for (const auto& entry : in) {
    auto& aliases = out[entry.network()];
    aliases.insert(aliases.end(), entry.aliases().begin(), entry.aliases().end());
  }
  return out;
}

int64_t unix_ms(const std::optional<manager::TimePoint>& t) {
  return t ? std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count()
           : 0;
}

}  // namespace

void to_proto(const manager::ServiceSpec& spec, ServiceSpec& out) {
  out.set_name(spec.name);
  for (const auto& word : spec.command)
    out.add_command(word);
  for (const auto& word : spec.args)
    out.add_args(word);
  for (const auto& kv : spec.env)
    out.add_env(kv);
  out.set_mode(spec.global ? "global" : "replicated");
  out.set_replicas(spec.global ? 0 : spec.replicas);
  for (const auto& network : spec.networks)
    out.add_networks(network);
  aliases_to_proto(spec.network_aliases, *out.mutable_network_aliases());
  for (const auto& port : spec.ports)
    port_to_proto(port, *out.add_ports());
  out.set_endpoint_mode(std::string(manager::to_string(spec.endpoint_mode)));
  for (const auto& constraint : spec.constraints)
    out.add_constraints(constraint);
  auto& restart = *out.mutable_restart();
  restart.set_condition(std::string(manager::to_string(spec.restart.condition)));
  restart.set_delay_ms(static_cast<uint64_t>(spec.restart.delay.count()));
  restart.set_max_attempts(spec.restart.max_attempts);
  out.set_stop_grace_ms(static_cast<uint64_t>(spec.stop_grace_period.count()));
  out.set_max_replicas_per_node(spec.max_replicas_per_node);
  for (const auto& ref : spec.configs)
    config_ref_to_proto(ref, *out.add_configs());
  out.mutable_labels()->insert(spec.labels.begin(), spec.labels.end());
  for (const auto& preference : spec.placement_prefs)
    out.add_placement_prefs(preference);
  update_config_to_proto(spec.update, *out.mutable_update_config());
  update_config_to_proto(spec.rollback, *out.mutable_rollback_config());
}

void to_proto(const manager::Service& service, Service& out) {
  out.set_id(service.id);
  to_proto(service.spec, *out.mutable_spec());
  for (const auto& port : service.endpoint.ports)
    port_to_proto(port, *out.add_endpoint_ports());
  for (const auto& [network, vip] : service.endpoint.vips) {
    auto& v = *out.add_vips();
    v.set_network_id(network);
    v.set_addr(vip.str());
  }
  out.set_spec_version(service.spec_version);
  out.set_version(service.version);
  auto& status = *out.mutable_update_status();
  status.set_state(std::string(manager::to_string(service.update_status.state)));
  status.set_started_unix_ms(unix_ms(service.update_status.started_at));
  status.set_completed_unix_ms(unix_ms(service.update_status.completed_at));
  status.set_message(service.update_status.message);
  if (service.previous_spec)
    to_proto(*service.previous_spec, *out.mutable_previous_spec());
}

void to_proto(const manager::Task& task, const std::string& service_name, Task& out) {
  out.set_id(task.id);
  out.set_service_id(task.service_id);
  out.set_service_name(service_name);
  out.set_slot(task.slot);
  out.set_node_id(task.node_id);
  out.set_desired_state(std::string(manager::to_string(task.desired)));
  out.set_state(std::string(manager::to_string(task.observed)));
  out.set_message(task.message);
  for (const auto& [network, addr] : task.addresses) {
    auto& a = *out.add_addresses();
    a.set_network_id(network);
    a.set_addr(addr.str());
  }
  for (const auto& word : task.runtime.command)
    out.add_command(word);
  for (const auto& word : task.runtime.args)
    out.add_args(word);
  for (const auto& kv : task.runtime.env)
    out.add_env(kv);
  out.set_stop_grace_ms(static_cast<uint64_t>(task.runtime.stop_grace_period.count()));
  for (const auto& ref : task.runtime.configs)
    config_ref_to_proto(ref, *out.add_configs());
  aliases_to_proto(task.runtime.network_aliases, *out.mutable_network_aliases());
  out.set_spec_version(task.spec_version);
  out.set_version(task.version);
  if (task.updated_at)
    out.set_updated_unix_ms(unix_ms(*task.updated_at));
}

void endpoint_to_proto(const manager::Service& service, Task& out) {
  for (const auto& [network, vip] : service.endpoint.vips) {
    auto& v = *out.add_vips();
    v.set_network_id(network);
    v.set_addr(vip.str());
  }
  for (const auto& port : service.endpoint.ports)
    port_to_proto(port, *out.add_ports());
  out.set_endpoint_mode(std::string(manager::to_string(service.spec.endpoint_mode)));
}

Result<manager::PortConfig> from_proto(const PortConfig& port) {
  manager::PortConfig out;
  SHOAL_ASSIGN_OR_RETURN(out.published, port_number(port.published(), "published", true));
  SHOAL_ASSIGN_OR_RETURN(out.target, port_number(port.target(), "target", false));
  SHOAL_ASSIGN_OR_RETURN(
      out.protocol, manager::parse_protocol(port.protocol().empty() ? "tcp" : port.protocol()));
  SHOAL_ASSIGN_OR_RETURN(
      out.mode, manager::parse_publish_mode(port.mode().empty() ? "ingress" : port.mode()));
  return out;
}

Result<manager::ServiceSpec> from_proto(const ServiceSpec& spec) {
  manager::ServiceSpec out;
  out.name = spec.name();
  out.command.assign(spec.command().begin(), spec.command().end());
  out.args.assign(spec.args().begin(), spec.args().end());
  out.env.assign(spec.env().begin(), spec.env().end());
  if (spec.mode() == "global") {
    out.global = true;
  } else if (spec.mode().empty() || spec.mode() == "replicated") {
    out.replicas = spec.replicas();
  } else {
    return invalid_argument("mode \"" + spec.mode() + "\"", "expected replicated or global");
  }
  out.networks.assign(spec.networks().begin(), spec.networks().end());
  out.network_aliases = aliases_from_proto(spec.network_aliases());
  for (const auto& port : spec.ports()) {
    SHOAL_ASSIGN_OR_RETURN(auto converted, from_proto(port));
    out.ports.push_back(converted);
  }
  SHOAL_ASSIGN_OR_RETURN(
      out.endpoint_mode,
      manager::parse_endpoint_mode(spec.endpoint_mode().empty() ? "vip" : spec.endpoint_mode()));
  out.constraints.assign(spec.constraints().begin(), spec.constraints().end());
  if (spec.has_restart()) {
    const auto& restart = spec.restart();
    SHOAL_ASSIGN_OR_RETURN(out.restart.condition,
                           manager::parse_restart_condition(
                               restart.condition().empty() ? "any" : restart.condition()));
    out.restart.delay = manager::Duration(static_cast<int64_t>(restart.delay_ms()));
    out.restart.max_attempts = restart.max_attempts();
  }
  if (spec.stop_grace_ms() != 0) {
    out.stop_grace_period = manager::Duration(static_cast<int64_t>(spec.stop_grace_ms()));
  }
  out.max_replicas_per_node = spec.max_replicas_per_node();
  for (const auto& ref : spec.configs())
    out.configs.push_back(config_ref_from_proto(ref));
  out.labels.insert(spec.labels().begin(), spec.labels().end());
  out.placement_prefs.assign(spec.placement_prefs().begin(), spec.placement_prefs().end());
  if (spec.has_update_config()) {
    SHOAL_ASSIGN_OR_RETURN(out.update, update_config_from_proto(spec.update_config()));
  }
  if (spec.has_rollback_config()) {
    SHOAL_ASSIGN_OR_RETURN(out.rollback, update_config_from_proto(spec.rollback_config()));
  }
  return out;
}

Result<TaskAssignment> assignment_from_proto(const Task& task) {
  TaskAssignment out;
  out.id = task.id();
  out.service_id = task.service_id();
  out.service_name = task.service_name();
  out.slot = task.slot();
  SHOAL_ASSIGN_OR_RETURN(out.desired, manager::parse_task_state(task.desired_state()));
  out.runtime.command.assign(task.command().begin(), task.command().end());
  out.runtime.args.assign(task.args().begin(), task.args().end());
  out.runtime.env.assign(task.env().begin(), task.env().end());
  out.runtime.stop_grace_period = manager::Duration(static_cast<int64_t>(task.stop_grace_ms()));
  for (const auto& address : task.addresses()) {
    SHOAL_ASSIGN_OR_RETURN(auto prefix, Ipv4Prefix::parse(address.addr()));
    out.addresses[address.network_id()] = prefix;
  }
  for (const auto& vip : task.vips()) {
    SHOAL_ASSIGN_OR_RETURN(auto prefix, Ipv4Prefix::parse(vip.addr()));
    out.vips[vip.network_id()] = prefix;
  }
  for (const auto& port : task.ports()) {
    SHOAL_ASSIGN_OR_RETURN(auto converted, from_proto(port));
    out.ports.push_back(converted);
  }
  out.dnsrr = task.endpoint_mode() == "dnsrr";
  for (const auto& ref : task.configs())
    out.runtime.configs.push_back(config_ref_from_proto(ref));
  out.runtime.network_aliases = aliases_from_proto(task.network_aliases());
  return out;
}

Result<manager::Network> network_from_proto(const Network& network) {
  manager::Network out;
  out.id = network.id();
  out.name = network.name();
  out.driver = network.driver();
  out.vni = network.vni();
  if (!network.subnet().empty()) {
    SHOAL_ASSIGN_OR_RETURN(out.subnet, Ipv4Prefix::parse(network.subnet()));
  }
  if (!network.gateway().empty()) {
    SHOAL_ASSIGN_OR_RETURN(out.gateway, Ipv4::parse(network.gateway()));
  }
  out.attachable = network.attachable();
  out.ingress = network.ingress();
  out.labels.insert(network.labels().begin(), network.labels().end());
  return out;
}

}  // namespace shoal::api
