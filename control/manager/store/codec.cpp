#include "control/manager/store/codec.h"

#include <nlohmann/json.hpp>

#include "common/hex.h"

namespace shoal::manager {

namespace {

using nlohmann::json;

template <typename E>
int number(E value) {
  return static_cast<int>(value);
}

template <typename E>
E enum_from(const json& j) {
  return static_cast<E>(j.get<int>());
}

json prefix_json(const std::optional<Ipv4Prefix>& prefix) {
  return prefix ? json(prefix->str()) : json(nullptr);
}

json ports_json(const std::vector<PortConfig>& ports) {
  json out = json::array();
  for (const auto& p : ports) {
    out.push_back({{"published", p.published},
                   {"target", p.target},
                   {"protocol", number(p.protocol)},
                   {"mode", number(p.mode)}});
  }
  return out;
}

std::vector<PortConfig> ports_from(const json& j) {
  std::vector<PortConfig> out;
  for (const auto& p : j) {
    out.push_back(PortConfig{.published = p.at("published").get<uint16_t>(),
                             .target = p.at("target").get<uint16_t>(),
                             .protocol = enum_from<Protocol>(p.at("protocol")),
                             .mode = enum_from<PublishMode>(p.at("mode"))});
  }
  return out;
}

json addresses_json(const std::map<std::string, Ipv4Prefix>& addresses) {
  json out = json::object();
  for (const auto& [network, prefix] : addresses) {
    out[network] = prefix.str();
  }
  return out;
}

// Text that this codec wrote parses; anything else is reported as a bad object.
Ipv4Prefix prefix_from(const json& j) {
  auto parsed = Ipv4Prefix::parse(j.get<std::string>());
  if (!parsed.ok()) {
    throw std::invalid_argument(parsed.error().message());
  }
  return *parsed;
}

Ipv4 ip_from(const json& j) {
  auto parsed = Ipv4::parse(j.get<std::string>());
  if (!parsed.ok()) {
    throw std::invalid_argument(parsed.error().message());
  }
  return *parsed;
}

std::map<std::string, Ipv4Prefix> addresses_from(const json& j) {
  std::map<std::string, Ipv4Prefix> out;
  for (const auto& [network, prefix] : j.items()) {
    out.emplace(network, prefix_from(prefix));
  }
  return out;
}

json time_json(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint time_from(const json& j) {
  return TimePoint(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(j.get<int64_t>())));
}

// Config data is bytes; JSON text holds only UTF-8, so it is stored as hex.
std::string unhex(const std::string& text) {
  auto bytes = from_hex(text);
  if (!bytes)
    throw std::invalid_argument("config data is not hex of even length");
  return *bytes;
}

json config_refs_json(const std::vector<ConfigReference>& refs) {
  json out = json::array();
  for (const auto& r : refs) {
    out.push_back({{"config_id", r.config_id},
                   {"config_name", r.config_name},
                   {"target", r.target},
                   {"mode", r.mode}});
  }
  return out;
}

// Absent in stores written before configs existed.
std::vector<ConfigReference> config_refs_from(const json& parent) {
  std::vector<ConfigReference> out;
  if (!parent.contains("configs"))
    return out;
  for (const auto& r : parent.at("configs")) {
    out.push_back(ConfigReference{.config_id = r.at("config_id").get<std::string>(),
                                  .config_name = r.at("config_name").get<std::string>(),
                                  .target = r.at("target").get<std::string>(),
                                  .mode = r.at("mode").get<uint32_t>()});
  }
  return out;
}

// Absent in stores written before network aliases existed.
NetworkAliases network_aliases_from(const json& parent) {
  if (!parent.contains("network_aliases"))
    return {};
  return parent.at("network_aliases").get<NetworkAliases>();
}

using Labels = std::map<std::string, std::string>;

Labels labels_from(const json& parent) {
  return parent.contains("labels") ? parent.at("labels").get<Labels>() : Labels{};
}

json to_json(const Config& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"data", to_hex(c.data)},
          {"labels", c.labels},
          {"created_at", time_json(c.created_at)},
          {"version", c.version}};
}

Object config_from(const json& j) {
  Config c;
  c.id = j.at("id").get<std::string>();
  c.name = j.at("name").get<std::string>();
  c.data = unhex(j.at("data").get<std::string>());
  c.labels = labels_from(j);
  c.created_at = time_from(j.at("created_at"));
  c.version = j.at("version").get<uint64_t>();
  return c;
}

json to_json(const Node& n) {
  return {{"id", n.id},
          {"hostname", n.hostname},
          {"role", number(n.role)},
          {"availability", number(n.availability)},
          {"status", number(n.status)},
          {"labels", n.labels},
          {"addr", n.addr.str()},
          {"ingress_addr", prefix_json(n.ingress_addr)},
          {"lb_backend", n.lb_backend},
          {"cert_not_before", n.cert_not_before},
          {"cert_not_after", n.cert_not_after},
          {"cert_issuer", n.cert_issuer},
          {"cert_serial", n.cert_serial},
          {"previous_cert_serial", n.previous_cert_serial},
          {"previous_cert_not_after", n.previous_cert_not_after},
          {"cert_replaced_at", n.cert_replaced_at},
          {"revoked_cert_serials", n.revoked_cert_serials},
          {"version", n.version}};
}

json to_json(const Network& n) {
  return {{"id", n.id},
          {"name", n.name},
          {"driver", n.driver},
          {"vni", n.vni},
          {"subnet", prefix_json(n.subnet)},
          {"gateway", n.gateway ? json(n.gateway->str()) : json(nullptr)},
          {"attachable", n.attachable},
          {"ingress", n.ingress},
          {"labels", n.labels},
          {"version", n.version}};
}

json update_config_json(const UpdateConfig& c) {
  return {{"parallelism", c.parallelism},
          {"delay_ms", c.delay.count()},
          {"failure_action", number(c.failure_action)},
          {"monitor_ms", c.monitor.count()},
          {"max_failure_ratio", c.max_failure_ratio},
          {"order", number(c.order)}};
}

// Absent in stores written before rolling updates: Docker's defaults.
UpdateConfig update_config_from(const json& parent, const char* key) {
  UpdateConfig c;
  if (!parent.contains(key)) {
    return c;
  }
  const auto& j = parent.at(key);
  c.parallelism = j.at("parallelism").get<uint64_t>();
  c.delay = Duration(j.at("delay_ms").get<int64_t>());
  c.failure_action = enum_from<FailureAction>(j.at("failure_action"));
  c.monitor = Duration(j.at("monitor_ms").get<int64_t>());
  c.max_failure_ratio = j.at("max_failure_ratio").get<double>();
  c.order = enum_from<UpdateOrder>(j.at("order"));
  return c;
}

json optional_time_json(const std::optional<TimePoint>& t) {
  return t ? json(std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch())
                      .count())
           : json(nullptr);
}

std::optional<TimePoint> optional_time_from(const json& parent, const char* key) {
  if (!parent.contains(key) || parent.at(key).is_null()) {
    return std::nullopt;
  }
  return TimePoint(std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(parent.at(key).get<int64_t>())));
}

json spec_json(const ServiceSpec& spec);

json to_json(const Service& s) {
  json status = {{"state", number(s.update_status.state)},
                 {"started_at", optional_time_json(s.update_status.started_at)},
                 {"completed_at", optional_time_json(s.update_status.completed_at)},
                 {"message", s.update_status.message}};
  return {{"id", s.id},
          {"spec", spec_json(s.spec)},
          {"previous_spec", s.previous_spec ? spec_json(*s.previous_spec) : json(nullptr)},
          {"update_status", status},
          {"endpoint",
           {{"ports", ports_json(s.endpoint.ports)}, {"vips", addresses_json(s.endpoint.vips)}}},
          {"allocated", s.allocated},
          {"spec_version", s.spec_version},
          {"version", s.version}};
}

json spec_json(const ServiceSpec& spec) {
  json j_spec = {{"name", spec.name},
                 {"command", spec.command},
                 {"args", spec.args},
                 {"env", spec.env},
                 {"global", spec.global},
                 {"replicas", spec.replicas},
                 {"networks", spec.networks},
                 {"ports", ports_json(spec.ports)},
                 {"endpoint_mode", number(spec.endpoint_mode)},
                 {"constraints", spec.constraints},
                 {"restart_condition", number(spec.restart.condition)},
                 {"restart_delay_ms", spec.restart.delay.count()},
                 {"restart_max_attempts", spec.restart.max_attempts},
                 {"stop_grace_period_ms", spec.stop_grace_period.count()},
                 {"max_replicas_per_node", spec.max_replicas_per_node},
                 {"configs", config_refs_json(spec.configs)},
                 {"labels", spec.labels}};
  j_spec["placement_prefs"] = spec.placement_prefs;
  j_spec["update"] = update_config_json(spec.update);
  j_spec["rollback"] = update_config_json(spec.rollback);
  j_spec["force_update"] = spec.force_update;
  j_spec["standalone_run"] = spec.standalone_run;
  j_spec["network_aliases"] = spec.network_aliases;
  return j_spec;
}

json to_json(const Task& t) {
  json history = json::array();
  for (const auto& event : t.history) {
    history.push_back({{"state", number(event.state)}, {"message", event.message}});
  }
  json ended = nullptr;
  if (t.ended_at) {
    ended = std::chrono::duration_cast<std::chrono::nanoseconds>(t.ended_at->time_since_epoch())
                .count();
  }
  json updated = nullptr;
  if (t.updated_at) {
    updated = std::chrono::duration_cast<std::chrono::nanoseconds>(t.updated_at->time_since_epoch())
                  .count();
  }
  return {{"id", t.id},
          {"service_id", t.service_id},
          {"slot", t.slot},
          {"node_id", t.node_id},
          {"desired", number(t.desired)},
          {"observed", number(t.observed)},
          {"message", t.message},
          {"addresses", addresses_json(t.addresses)},
          {"history", history},
          {"attempt", t.attempt},
          {"ended_at", ended},
          {"updated_at", updated},
          {"runtime",
           {{"command", t.runtime.command},
            {"args", t.runtime.args},
            {"env", t.runtime.env},
            {"stop_grace_period_ms", t.runtime.stop_grace_period.count()},
            {"configs", config_refs_json(t.runtime.configs)},
            {"network_aliases", t.runtime.network_aliases},
            {"force_update", t.runtime.force_update}}},
          {"started_at", optional_time_json(t.started_at)},
          {"spec_version", t.spec_version},
          {"version", t.version}};
}

Object node_from(const json& j) {
  Node n;
  n.id = j.at("id").get<std::string>();
  n.hostname = j.at("hostname").get<std::string>();
  n.role = enum_from<NodeRole>(j.at("role"));
  n.availability = enum_from<NodeAvailability>(j.at("availability"));
  n.status = enum_from<NodeStatus>(j.at("status"));
  n.labels = j.at("labels").get<std::map<std::string, std::string>>();
  n.addr = ip_from(j.at("addr"));
  if (j.contains("ingress_addr") && !j.at("ingress_addr").is_null()) {
    n.ingress_addr = prefix_from(j.at("ingress_addr"));
  }
  n.lb_backend = j.value("lb_backend", "");  // absent in a store written before #9
  n.cert_not_before = j.value("cert_not_before", int64_t{0});  // absent before renewal (#18)
  n.cert_not_after = j.value("cert_not_after", int64_t{0});
  n.cert_issuer = j.value("cert_issuer", std::string());  // absent before root rotation existed
  n.cert_serial = j.value("cert_serial", std::string());  // absent before revocation existed
  n.previous_cert_serial = j.value("previous_cert_serial", std::string());
  n.cert_replaced_at = j.value("cert_replaced_at", int64_t{0});
  n.previous_cert_not_after = j.value("previous_cert_not_after", int64_t{0});
  n.revoked_cert_serials =
      j.value("revoked_cert_serials", std::map<std::string, int64_t>{});  // absent before #18's CRL
  n.version = j.at("version").get<uint64_t>();
  return n;
}

Object network_from(const json& j) {
  Network n;
  n.id = j.at("id").get<std::string>();
  n.name = j.at("name").get<std::string>();
  n.driver = j.at("driver").get<std::string>();
  n.vni = j.at("vni").get<uint32_t>();
  if (!j.at("subnet").is_null()) {
    n.subnet = prefix_from(j.at("subnet"));
  }
  if (!j.at("gateway").is_null()) {
    n.gateway = ip_from(j.at("gateway"));
  }
  n.attachable = j.at("attachable").get<bool>();
  n.ingress = j.at("ingress").get<bool>();
  n.labels = labels_from(j);
  n.version = j.at("version").get<uint64_t>();
  return n;
}

ServiceSpec spec_from(const json& spec);

Object service_from(const json& j) {
  Service s;
  s.id = j.at("id").get<std::string>();
  s.spec = spec_from(j.at("spec"));
  if (j.contains("previous_spec") && !j.at("previous_spec").is_null()) {
    s.previous_spec = spec_from(j.at("previous_spec"));
  }
  if (j.contains("update_status")) {
    const auto& status = j.at("update_status");
    s.update_status.state = enum_from<UpdateState>(status.at("state"));
    s.update_status.started_at = optional_time_from(status, "started_at");
    s.update_status.completed_at = optional_time_from(status, "completed_at");
    s.update_status.message = status.at("message").get<std::string>();
  }
  s.endpoint.ports = ports_from(j.at("endpoint").at("ports"));
  s.endpoint.vips = addresses_from(j.at("endpoint").at("vips"));
  s.allocated = j.at("allocated").get<bool>();
  s.spec_version = j.at("spec_version").get<uint64_t>();
  s.version = j.at("version").get<uint64_t>();
  return s;
}

ServiceSpec spec_from(const json& spec) {
  ServiceSpec out;
  out.name = spec.at("name").get<std::string>();
  out.command = spec.at("command").get<std::vector<std::string>>();
  out.args = spec.at("args").get<std::vector<std::string>>();
  out.env = spec.at("env").get<std::vector<std::string>>();
  out.global = spec.at("global").get<bool>();
  out.replicas = spec.at("replicas").get<uint64_t>();
  out.networks = spec.at("networks").get<std::vector<std::string>>();
  out.ports = ports_from(spec.at("ports"));
  out.endpoint_mode = enum_from<EndpointMode>(spec.at("endpoint_mode"));
  out.constraints = spec.at("constraints").get<std::vector<std::string>>();
  out.restart.condition = enum_from<RestartCondition>(spec.at("restart_condition"));
  out.restart.delay = Duration(spec.at("restart_delay_ms").get<int64_t>());
  out.restart.max_attempts = spec.at("restart_max_attempts").get<uint64_t>();
  out.stop_grace_period = Duration(spec.at("stop_grace_period_ms").get<int64_t>());
  out.max_replicas_per_node = spec.at("max_replicas_per_node").get<uint64_t>();
  out.configs = config_refs_from(spec);
  out.network_aliases = network_aliases_from(spec);
  out.labels = labels_from(spec);
  if (spec.contains("placement_prefs")) {
    out.placement_prefs = spec.at("placement_prefs").get<std::vector<std::string>>();
  }
  out.update = update_config_from(spec, "update");
  out.rollback = update_config_from(spec, "rollback");
  out.force_update = spec.value("force_update", uint64_t{0});
  out.standalone_run = spec.value("standalone_run", false);
  return out;
}

Object task_from(const json& j) {
  Task t;
  t.id = j.at("id").get<std::string>();
  t.service_id = j.at("service_id").get<std::string>();
  t.slot = j.at("slot").get<uint64_t>();
  t.node_id = j.at("node_id").get<std::string>();
  t.desired = enum_from<TaskState>(j.at("desired"));
  t.observed = enum_from<TaskState>(j.at("observed"));
  t.message = j.at("message").get<std::string>();
  t.addresses = addresses_from(j.at("addresses"));
  for (const auto& event : j.at("history")) {
    t.history.push_back(TaskEvent{.state = enum_from<TaskState>(event.at("state")),
                                  .message = event.at("message").get<std::string>()});
  }
  t.attempt = j.at("attempt").get<uint64_t>();
  if (!j.at("ended_at").is_null()) {
    t.ended_at = TimePoint(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(j.at("ended_at").get<int64_t>())));
  }
  if (j.contains("updated_at") && !j.at("updated_at").is_null()) {
    t.updated_at = TimePoint(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(j.at("updated_at").get<int64_t>())));
  }
  const auto& runtime = j.at("runtime");
  t.runtime.command = runtime.at("command").get<std::vector<std::string>>();
  t.runtime.args = runtime.at("args").get<std::vector<std::string>>();
  t.runtime.env = runtime.at("env").get<std::vector<std::string>>();
  t.runtime.stop_grace_period = Duration(runtime.at("stop_grace_period_ms").get<int64_t>());
  t.runtime.force_update = runtime.value("force_update", uint64_t{0});
  t.started_at = optional_time_from(j, "started_at");
  t.runtime.configs = config_refs_from(runtime);
  t.runtime.network_aliases = network_aliases_from(runtime);
  t.spec_version = j.at("spec_version").get<uint64_t>();
  t.version = j.at("version").get<uint64_t>();
  return t;
}

}  // namespace

std::string encode(const Object& object) {
  return std::visit([](const auto& value) { return to_json(value).dump(); }, object);
}

Result<Object> decode(std::string_view kind, std::string_view text) {
  try {
    auto j = json::parse(text);
    if (kind == "node") {
      return node_from(j);
    }
    if (kind == "network") {
      return network_from(j);
    }
    if (kind == "service") {
      return service_from(j);
    }
    if (kind == "task") {
      return task_from(j);
    }
    if (kind == "config") {
      return config_from(j);
    }
    return invalid_argument("stored object kind \"" + std::string(kind) + "\"", "unknown kind");
  } catch (const std::exception& e) {
    return invalid_argument("stored " + std::string(kind), e.what());
  }
}

}  // namespace shoal::manager
