#include "control/manager/backup/backup.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <ctime>
#include <set>
#include <utility>

#include "common/json_nesting.h"
#include "common/net_types.h"
#include "control/manager/store/codec.h"
#include "control/pki/ca.h"
#include "control/pki/join_token.h"

namespace shoal::manager {

namespace {

using nlohmann::json;

constexpr const char* kFormatTag = "shoal-swarm-backup";
// Objects are nested a few levels; anything deeper is not ours, and refusing it before parsing
// keeps the recursive parts of the JSON library (dump, comparisons) off a deep stack.
constexpr int kMaxNesting = 32;
constexpr size_t kMaxPemBytes = 64 * 1024;
constexpr size_t kMaxNameBytes = 1024;
constexpr uint64_t kMaxHeartbeatMs = 24ull * 3600 * 1000;

Error bad(std::string where, std::string why) {
  return Error{.op = "invalid backup", .object = std::move(where), .detail = std::move(why)};
}

Result<const json*> member(const json& parent, const std::string& path, const char* key,
                           json::value_t type) {
  auto it = parent.find(key);
  std::string where = path.empty() ? key : path + "." + key;
  if (it == parent.end()) {
    return bad(where, "is missing");
  }
  bool number = type == json::value_t::number_unsigned;
  if (number ? !it->is_number_unsigned() : it->type() != type) {
    return bad(where, std::string("is not ") +
                          (number ? "a non-negative integer" : json(type).type_name()));
  }
  return &*it;
}

Result<std::string> string_member(const json& parent, const std::string& path, const char* key,
                                  size_t max_bytes) {
  SHOAL_ASSIGN_OR_RETURN(const json* value, member(parent, path, key, json::value_t::string));
  auto text = value->get<std::string>();
  std::string where = path.empty() ? key : path + "." + key;
  if (text.empty()) {
    return bad(where, "is empty");
  }
  if (text.size() > max_bytes) {
    return bad(where, "is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

Result<uint64_t> number_member(const json& parent, const std::string& path, const char* key) {
  SHOAL_ASSIGN_OR_RETURN(const json* value,
                         member(parent, path, key, json::value_t::number_unsigned));
  return value->get<uint64_t>();
}

Result<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  char zulu = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &zulu, &consumed) != 7 ||
      zulu != 'Z' || static_cast<size_t>(consumed) != text.size() || tm.tm_mon < 1 ||
      tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60 || tm.tm_year < 1970) {
    return bad("created_at", "\"" + text + "\" is not a UTC time like 2024-05-01T12:00:00Z");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

Status check_header(const json& doc) {
  if (!doc.is_object()) {
    return bad("", "not a shoal swarm backup (not a JSON object)");
  }
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || *format != kFormatTag) {
    return bad("", std::string("not a shoal swarm backup (no \"format\": \"") + kFormatTag + "\")");
  }
  SHOAL_ASSIGN_OR_RETURN(auto version, number_member(doc, "", "version"));
  if (version != kBackupFormatVersion) {
    return bad("version", std::to_string(version) + " is not supported: this shoal reads version " +
                              std::to_string(kBackupFormatVersion));
  }
  return {};
}

Result<BackupSecrets> secrets_from(const json& doc) {
  BackupSecrets s;
  SHOAL_ASSIGN_OR_RETURN(s.cluster_id, string_member(doc, "", "cluster_id", kMaxNameBytes));
  SHOAL_ASSIGN_OR_RETURN(s.manager_node_id,
                         string_member(doc, "", "manager_node_id", kMaxNameBytes));
  SHOAL_ASSIGN_OR_RETURN(const json* ca, member(doc, "", "ca", json::value_t::object));
  SHOAL_ASSIGN_OR_RETURN(s.ca_cert_pem, string_member(*ca, "ca", "cert_pem", kMaxPemBytes));
  SHOAL_ASSIGN_OR_RETURN(s.ca_key_pem, string_member(*ca, "ca", "key_pem", kMaxPemBytes));
  SHOAL_ASSIGN_OR_RETURN(const json* tokens, member(doc, "", "join_tokens", json::value_t::object));
  SHOAL_ASSIGN_OR_RETURN(s.tokens.worker,
                         string_member(*tokens, "join_tokens", "worker", kMaxNameBytes));
  SHOAL_ASSIGN_OR_RETURN(s.tokens.manager,
                         string_member(*tokens, "join_tokens", "manager", kMaxNameBytes));
  SHOAL_ASSIGN_OR_RETURN(const json* swarm, member(doc, "", "swarm", json::value_t::object));
  SHOAL_ASSIGN_OR_RETURN(s.default_addr_pool,
                         string_member(*swarm, "swarm", "default_addr_pool", kMaxNameBytes));
  auto pool = Ipv4Prefix::parse(s.default_addr_pool);
  if (!pool.ok() || pool->length() > 24) {
    return bad("swarm.default_addr_pool",
               "\"" + s.default_addr_pool + "\" is not a CIDR of /24 or larger");
  }
  SHOAL_ASSIGN_OR_RETURN(s.heartbeat_ms, number_member(*swarm, "swarm", "heartbeat_ms"));
  if (s.heartbeat_ms == 0 || s.heartbeat_ms > kMaxHeartbeatMs) {
    return bad("swarm.heartbeat_ms", "must be between 1 ms and 24 h");
  }
  return s;
}

// The store's objects, each through the codec; ids must be present and unique per kind.
Result<std::vector<manager::Object>> objects_from(const json& objects) {
  if (objects.size() > kMaxBackupObjects) {
    return bad("store.objects",
               "holds more than " + std::to_string(kMaxBackupObjects) + " objects");
  }
  std::vector<manager::Object> out;
  out.reserve(objects.size());
  std::set<std::pair<std::string, std::string>> seen;  // kind, id
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& entry = objects[i];
    std::string where = "store.objects[" + std::to_string(i) + "]";
    if (!entry.is_object()) {
      return bad(where, "is not an object");
    }
    SHOAL_ASSIGN_OR_RETURN(auto kind, string_member(entry, where, "kind", kMaxNameBytes));
    SHOAL_ASSIGN_OR_RETURN(const json* body, member(entry, where, "object", json::value_t::object));
    if (kind != "node" && kind != "network" && kind != "service" && kind != "task" &&
        kind != "config") {
      return bad(where, "unknown object kind \"" + kind + "\"");
    }
    auto object = manager::decode(kind, body->dump());
    if (!object.ok()) {
      return bad(where, object.error().message());
    }
    const auto& id = manager::object_id(*object);
    if (id.empty()) {
      return bad(where, "a " + kind + " without an id");
    }
    if (!seen.emplace(kind, id).second) {
      return bad(where, "a second " + kind + " with id " + id);
    }
    out.push_back(std::move(*object));
  }
  return out;
}

// The CA must be whole (its key the certificate's) and both tokens must name it, or a restored
// swarm would print join commands that no node could use.
Status check_ca_and_tokens(const BackupSecrets& s) {
  auto ca = pki::CertificateAuthority::load(s.ca_cert_pem, s.ca_key_pem);
  if (!ca.ok()) {
    return bad("ca", ca.error().message());
  }
  for (auto [name, token] : {std::pair{"join_tokens.worker", &s.tokens.worker},
                             std::pair{"join_tokens.manager", &s.tokens.manager}}) {
    auto parsed = pki::parse_join_token(*token);
    if (!parsed.ok()) {
      return bad(name, parsed.error().message());
    }
    if (!pki::ca_matches(*parsed, s.ca_cert_pem)) {
      return bad(name, "is for another CA than the backup's");
    }
  }
  return {};
}

json object_entry(const manager::Object& object) {
  return {{"kind", manager::object_kind(object)}, {"object", json::parse(manager::encode(object))}};
}

}  // namespace

std::string format_time(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[32] = {};
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string encode_backup(const Backup& backup) {
  const auto& s = backup.secrets;
  json objects = json::array();
  for (const auto& object : backup.objects) {
    objects.push_back(object_entry(object));
  }
  json doc{
      {"format", kFormatTag},
      {"version", kBackupFormatVersion},
      {"created_at", format_time(backup.created_at)},
      {"manager_node_id", s.manager_node_id},
      {"cluster_id", s.cluster_id},
      {"ca", {{"cert_pem", s.ca_cert_pem}, {"key_pem", s.ca_key_pem}}},
      {"join_tokens", {{"worker", s.tokens.worker}, {"manager", s.tokens.manager}}},
      {"swarm", {{"default_addr_pool", s.default_addr_pool}, {"heartbeat_ms", s.heartbeat_ms}}},
      {"store", {{"index", backup.store_index}, {"objects", std::move(objects)}}}};
  return doc.dump(1) + "\n";
}

Result<Backup> decode_backup(std::string_view bytes) {
  if (bytes.empty()) {
    return bad("", "the file is empty");
  }
  if (bytes.size() > kMaxBackupBytes) {
    return bad("", std::to_string(bytes.size()) + " bytes is more than the " +
                       std::to_string(kMaxBackupBytes >> 20) + " MiB a backup may hold");
  }
  if (json_nesting(bytes) > kMaxNesting) {
    return bad("", "not a shoal swarm backup (JSON nested deeper than " +
                       std::to_string(kMaxNesting) + " levels)");
  }
  auto doc = json::parse(bytes, nullptr, false);
  if (doc.is_discarded()) {
    return bad("", "truncated or damaged (not valid JSON)");
  }
  SHOAL_TRY(check_header(doc));
  Backup backup;
  SHOAL_ASSIGN_OR_RETURN(auto created, string_member(doc, "", "created_at", kMaxNameBytes));
  SHOAL_ASSIGN_OR_RETURN(backup.created_at, parse_time(created));
  SHOAL_ASSIGN_OR_RETURN(backup.secrets, secrets_from(doc));
  SHOAL_ASSIGN_OR_RETURN(const json* store, member(doc, "", "store", json::value_t::object));
  SHOAL_ASSIGN_OR_RETURN(backup.store_index, number_member(*store, "store", "index"));
  SHOAL_ASSIGN_OR_RETURN(const json* objects,
                         member(*store, "store", "objects", json::value_t::array));
  SHOAL_ASSIGN_OR_RETURN(backup.objects, objects_from(*objects));
  SHOAL_TRY(check_ca_and_tokens(backup.secrets));
  return backup;
}

std::vector<manager::Object> restored_objects(const Backup& backup, manager::Node self) {
  std::vector<manager::Object> out;
  out.reserve(backup.objects.size() + 1);
  for (const auto& object : backup.objects) {
    const auto* node = std::get_if<manager::Node>(&object);
    if (node == nullptr) {
      out.push_back(object);
    } else if (node->role == manager::NodeRole::kWorker) {
      auto worker = *node;
      worker.status = manager::NodeStatus::kDown;
      out.emplace_back(std::move(worker));
    }
  }
  out.emplace_back(std::move(self));
  return out;
}

BackupCounts count_objects(const std::vector<manager::Object>& objects) {
  BackupCounts counts;
  for (const auto& object : objects) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, manager::Node>) {
            ++counts.nodes;
          } else if constexpr (std::is_same_v<T, manager::Network>) {
            ++counts.networks;
          } else if constexpr (std::is_same_v<T, manager::Service>) {
            ++counts.services;
          } else if constexpr (std::is_same_v<T, manager::Task>) {
            ++counts.tasks;
          } else {
            ++counts.configs;
          }
        },
        object);
  }
  return counts;
}

}  // namespace shoal::manager
