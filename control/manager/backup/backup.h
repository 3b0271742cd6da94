// A swarm backup (`shoal swarm backup FILE`): everything needed to rebuild a lost swarm as a new
// single manager with `shoal swarm restore FILE`.
//
// The file is one JSON document: a format tag and version, the root CA (certificate and key),
// the cluster id, both join tokens, the swarm options that live outside the store (address
// pool, heartbeat), the store's index and every store object in manager::codec's encoding.
// Restoring the CA and the tokens is what keeps the workers' certificates and the printed join
// commands valid.
//
// A backup file is untrusted input: decode_backup() bounds its size and nesting, checks every
// field and object, that the CA key is the certificate's, and that both tokens name that CA.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

inline constexpr int kBackupFormatVersion = 1;
// Bounds the file (and the Backup/Restore messages that carry it): configs are at most 500 KiB
// each, so this holds a hundred of them beside a large store.
inline constexpr size_t kMaxBackupBytes = 64 * 1024 * 1024;
inline constexpr size_t kMaxBackupObjects = 1'000'000;

// What a backup holds besides the store: the manager's secrets and swarm options.
struct BackupSecrets {
  std::string ca_cert_pem;
  std::string ca_key_pem;
  std::string cluster_id;
  JoinTokenPair tokens;
  std::string manager_node_id;  // the manager that made the backup
  std::string default_addr_pool = "10.0.0.0/8";
  uint64_t heartbeat_ms = 5000;
};

struct Backup {
  BackupSecrets secrets;
  std::chrono::system_clock::time_point created_at{};
  uint64_t store_index = 0;
  std::vector<manager::Object> objects;  // nodes, networks, services, tasks, configs
};

struct BackupCounts {
  size_t nodes = 0;
  size_t networks = 0;
  size_t services = 0;
  size_t tasks = 0;
  size_t configs = 0;
};

std::string encode_backup(const Backup& backup);
// Errors read "invalid backup <where>: <what is wrong>".
Result<Backup> decode_backup(std::string_view bytes);

// What a restored swarm's store starts with: the backup's objects less the nodes of its
// managers (they went with the lost cluster; `self` is its manager now), its workers Down until
// their agents reach this manager, and `self`. Tasks stay: those of nodes that are gone or Down
// are replaced by the orchestrator, as after any node failure.
std::vector<manager::Object> restored_objects(const Backup& backup, manager::Node self);

BackupCounts count_objects(const std::vector<manager::Object>& objects);
// RFC 3339 in UTC, seconds precision: "2024-05-01T12:00:00Z".
std::string format_time(std::chrono::system_clock::time_point time);

}  // namespace shoal::manager
