// A manager's seat: whether this manager leads, and the manager runtime it runs while it does.
//
// A swarm with one manager keeps the embedded SQLite store and leads by definition (single).
// When it gets a second manager, the leader calls replicate(): it starts an etcd member of its
// own (a cluster of one), wins the election there, copies the SQLite store into etcd in one
// transaction and runs on the etcd store from then on. Each further manager gets an etcd member
// (add_member on the leader, then a seat started with the cluster list it returns) and
// campaigns; whoever holds the leadership key runs the runtime, fenced (etcd_store.h), and the
// others run none. Losing the leadership stops the runtime; a store that diverged (a write with
// an unknown outcome) is reopened from etcd.
//
// Threads: the election reports on its thread; a seat thread of its own opens stores and starts
// and stops runtimes, so the election's keep-alives never wait for a store to load.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/etcd/election.h"
#include "control/etcd/member.h"
#include "control/manager/loop/manager_runtime.h"

namespace shoal::etcd {
class EtcdStore;
}

namespace shoal::manager {

// The revocation list every manager's etcd member checks connections against (a PEM CRL of the
// node certificates replaced past their grace: ManagerNode::publish_revocations writes it).
inline constexpr const char* kRevocationListKey = "/shoal/revoked-certificates";

inline constexpr const char* kLeaderKey = "/shoal/leader";
inline constexpr const char* kStorePrefix = "/shoal/store/";

struct SeatConfig {
  std::string node_id;
  std::string dir;  // <state dir>/manager: store.db while single, etcd/ once replicated
  ManagerOptions runtime;
  std::string advertise_ip;
  std::string manager_addr;  // IP:PORT of this manager's API, published with its leadership
  etcd::Tls tls;
  uint16_t peer_port = 2380;
  uint16_t client_port = 2379;
  std::chrono::seconds lease_ttl{3};
  std::chrono::milliseconds poll{200};
  std::string etcd_binary = "etcd";
};

// Whether removing one member of `members` (count), with `reachable` of the others answering,
// keeps a quorum; the reason in one line when it does not.
Status check_member_removal(size_t members, size_t reachable_others, const std::string& name);

class ManagerSeat {
 public:
  using Listener = std::function<void()>;

  // The single manager: SQLite, leading at once (the runtime starts here).
  static Result<std::unique_ptr<ManagerSeat>> single(SeatConfig config);
  // One of several: runs this manager's etcd member and campaigns. `initial_cluster` (from the
  // leader's add_member) is needed the first time only; a member with data resumes from it.
  static Result<std::unique_ptr<ManagerSeat>> replicated(SeatConfig config,
                                                         std::string initial_cluster = {});
  // Whether `dir` holds an etcd member's data (a manager that was replicated resumes so).
  static bool has_member_data(const std::string& dir);
  // `swarm init --force-new-cluster`: rewrites the member's data under config.dir as a cluster
  // of this member alone, keeping the store (etcd --force-new-cluster, run once and stopped, so
  // a later restart of the member does not force again).
  static Status rebuild_alone(const SeatConfig& config);
  ~ManagerSeat();  // resigns (a planned handover is immediate), stops the runtime and member
  ManagerSeat(const ManagerSeat&) = delete;
  ManagerSeat& operator=(const ManagerSeat&) = delete;

  bool is_replicated() const;
  // The runtime while this manager leads, else null. Holders keep it alive past a step-down;
  // its writes are then refused by the fence.
  std::shared_ptr<ManagerRuntime> runtime() const;
  etcd::LeaderView leader() const;
  // Called on the seat thread whenever runtime() or leader() changes.
  void set_listener(Listener listener);
  // The listener is called once more, one poll from now (it failed to act on the last call).
  void notify_again();

  // Leader, single: becomes the first member of several (see above). Waits until the runtime
  // runs on the etcd store. Nothing to do when already replicated.
  Status replicate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Leader: adds a member for the manager `name` at `peer_ip`; returns the initial cluster list
  // it starts with. Adding it again returns the same.
  Result<std::string> add_member(const std::string& name, const std::string& peer_ip);
  // Leader: removes the member of manager `name`; refused without `force` when the others
  // reachable would not be a quorum of what remains, and always for the last member. A manager
  // without a member (it never started one) has nothing to remove.
  // `peer_ip` also finds its member when it was added but never started (it has no name yet).
  Status remove_member(const std::string& name, bool force, const std::string& peer_ip = {});
  // What remove_member(name, false) would refuse, without removing anything.
  Status check_removal(const std::string& name, const std::string& peer_ip = {});
  // Leader: only these managers' certificates open etcd (the etcd users of all others go; a
  // member removed loses its user too). Nothing to do while single.
  Status keep_managers(const std::set<std::string>& managers);
  Result<std::vector<etcd::MemberInfo>> members();
  // Leader: the members (by name, the managers' node ids) and whether each answers now.
  Result<std::map<std::string, bool>> member_health();
  // Whether this manager's etcd member sees a raft leader (false once it lost the majority,
  // after an election timeout); true while single.
  bool store_has_quorum();
  // Cluster-wide values beside the store (the cluster secrets): read by any manager, written
  // by the leader only (fenced like its store). Refused while single.
  Result<std::optional<std::string>> read_key(const std::string& key);
  Status write_key(const std::string& key, const std::string& value);
  // This manager's etcd member; null while single.
  const etcd::Member* member() const { return member_.get(); }
  // The member trusts `ca_pem`'s roots from now on: it restarts for that, in its turn among the
  // members so that the quorum holds. No member: nothing to do.
  Status trust_roots(const std::string& ca_pem);

 private:
  // Copies the leader's revocation list (kRevocationListKey) to this member's CRL file when it
  // changed: etcd re-reads the file at each new connection.
  void follow_revocation_list();
  explicit ManagerSeat(SeatConfig config) : config_(std::move(config)) {}
  Status start_member(std::string initial_cluster, bool join_existing);
  void start_campaign();
  void run();
  void converge();
  Status open_replicated_runtime(const etcd::Fence& fence);
  Status enable_member_auth();
  Status revoke_manager(const std::string& name);
  std::string sqlite_path() const { return config_.dir + "/store.db"; }
  bool member_answers(const etcd::MemberInfo& member) const;
  // Probes reuse one client per member, so that `node ls` does not set up TLS to every member
  // each time; the clients of members that left are dropped.
  std::shared_ptr<etcd::Client> probe_client(const std::string& endpoint) const;
  void keep_probe_clients_of(const std::vector<etcd::MemberInfo>& members) const;
  struct Removal {
    size_t members = 0;
    size_t reachable_others = 0;
    std::optional<etcd::MemberInfo> target;
  };
  Result<Removal> plan_removal(const std::string& name, const std::string& peer_ip);
  std::string initial_cluster_of(const std::vector<etcd::MemberInfo>& members,
                                 const std::string& new_name, const std::string& new_url) const;
  void notify();

  SeatConfig config_;
  std::unique_ptr<etcd::Member> member_;
  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<etcd::Election> election_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool changed_ = false;
  bool renotify_ = false;
  std::shared_ptr<ManagerRuntime> runtime_;
  etcd::EtcdStore* etcd_store_ = nullptr;  // owned by runtime_
  etcd::Fence runtime_fence_;
  Listener listener_;
  std::thread thread_;

  std::string followed_crl_;  // the list last written to the member's file (seat thread)
  std::chrono::steady_clock::time_point crl_checked_{};

  mutable std::mutex probe_mutex_;
  mutable std::map<std::string, std::shared_ptr<etcd::Client>> probe_clients_;
};

}  // namespace shoal::manager
