// A client of one etcd member (the manager's own), over gRPC with mutual TLS from the swarm CA.
//
// Every call has a deadline (Options::call_timeout): when the etcd cluster has lost its quorum,
// calls fail within it with kNoQuorum instead of hanging, which is what lets the control API
// answer "no quorum" fast. A failed write may still have applied (the reply was lost); callers
// make their writes idempotent (see etcd_store.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace grpc {
class ChannelCredentials;
}

namespace grpc {
class Channel;
}

namespace shoal::etcd {

// Error::detail of calls that failed because no etcd leader answered in time.
inline constexpr std::string_view kNoQuorum =
    "no quorum: a majority of managers must be reachable to change the swarm";
bool is_no_quorum(const Error& error);

struct Tls {
  std::string ca_pem{}, cert_pem{}, key_pem{};
  std::string server_name = "swarm-manager";  // every manager certificate carries it
  // A node whose certificate is renewed while it runs: the client's credentials (they follow
  // the renewed files) instead of the PEMs, and for the member a file holding the key and then
  // the certificate, replaced atomically on renewal, which etcd reads at each handshake.
  std::shared_ptr<grpc::ChannelCredentials> credentials{};
  std::string identity_file{};
  // For the member: the revocation list (PEM CRL) it checks every new client and peer
  // connection against, re-read at each one, so that replacing the file revokes without a
  // restart; and what to write there when the file does not exist yet (an empty list). Empty:
  // no revocation list.
  std::string crl_pem{};
};

struct KeyValue {
  std::string key{}, value{};
  int64_t create_revision = 0, mod_revision = 0, lease = 0;
};

// A transaction: if every condition holds, the `then` operations apply, else the `otherwise`
// ones; all at one revision.
class Txn {
 public:
  Txn& if_value(std::string key, std::string value);
  Txn& if_created_at(std::string key, int64_t create_revision);  // 0: the key does not exist
  Txn& put(std::string key, std::string value, int64_t lease = 0);
  Txn& erase(std::string key);
  Txn& otherwise_get(std::string key);

  struct Condition {
    enum Kind { kValue, kCreateRevision } kind;
    std::string key{}, value{};
    int64_t revision = 0;
  };
  struct Op {
    enum Kind { kPut, kErase, kGet } kind;
    std::string key{}, value{};
    int64_t lease = 0;
  };
  const std::vector<Condition>& conditions() const { return conditions_; }
  const std::vector<Op>& then() const { return then_; }
  const std::vector<Op>& otherwise() const { return otherwise_; }

 private:
  std::vector<Condition> conditions_;
  std::vector<Op> then_, otherwise_;
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<std::optional<KeyValue>> gets{};  // one per get of the branch that ran
};

struct MemberInfo {
  uint64_t id = 0;
  std::string name{};  // empty until the member has started
  std::vector<std::string> peer_urls{}, client_urls{};
};

struct MemberStatus {
  uint64_t member_id = 0, leader_id = 0, raft_term = 0;
  int64_t revision = 0;
};

class Client {
 public:
  struct Options {
    std::chrono::milliseconds call_timeout{1500};
  };
  // `endpoint`: host:port of the member's client URL. No I/O happens here.
  static std::unique_ptr<Client> create(const std::string& endpoint, const Tls& tls,
                                        Options options);
  static std::unique_ptr<Client> create(const std::string& endpoint, const Tls& tls) {
    return create(endpoint, tls, Options{});
  }
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  std::chrono::milliseconds call_timeout() const { return options_.call_timeout; }

  Result<std::optional<KeyValue>> get(const std::string& key);
  Result<std::vector<KeyValue>> get_prefix(const std::string& prefix);
  Status put(const std::string& key, const std::string& value, int64_t lease = 0);
  Result<TxnResult> commit(const Txn& txn) { return commit(txn, options_.call_timeout); }
  // With a deadline of its own (shorter than the client's, say, to end before a lease does).
  Result<TxnResult> commit(const Txn& txn, std::chrono::milliseconds timeout);

  Result<int64_t> grant_lease(std::chrono::seconds ttl);  // the lease id
  Status revoke_lease(int64_t lease);
  // One keep-alive round trip: the lease's remaining TTL, 0 when it has expired.
  Result<std::chrono::seconds> keep_alive(int64_t lease) {
    return keep_alive(lease, options_.call_timeout);
  }
  Result<std::chrono::seconds> keep_alive(int64_t lease, std::chrono::milliseconds timeout);

  // A user with etcd's root role, or nothing if it exists; `name` is a manager's node id (its
  // certificate's CN) or "root", which etcd needs before auth can be enabled.
  Status add_root_user(const std::string& name);
  Status delete_user(const std::string& name);  // a user that is not there is no error
  Result<std::vector<std::string>> users();
  Status enable_auth();
  Result<MemberInfo> add_member(const std::string& peer_url);
  Status remove_member(uint64_t id);
  Result<std::vector<MemberInfo>> members();
  Result<MemberStatus> status();
  // The member's whole database (etcd's snapshot file format, for etcdctl snapshot restore).
  Result<std::string> snapshot(std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  struct Stubs;
  Client(std::string endpoint, std::shared_ptr<grpc::Channel> channel, Options options);
  std::string endpoint_;
  Options options_;
  std::unique_ptr<Stubs> stubs_;
};

// The end of the range holding every key that starts with `prefix`.
std::string prefix_end(std::string prefix);

}  // namespace shoal::etcd
