// One etcd member run by shoald: the manager's share of the cluster store when the swarm has
// several managers. shoald starts it, restarts it when it exits, and stops it with itself (the
// member gets SIGTERM if shoald dies, so a killed host takes its member with it, as a real host
// would). Debian's etcd package service is never used: every member lives under the node's
// state directory and listens only on the node's own addresses.
//
// Security: peer and client traffic are mutual TLS with the swarm CA, and etcd accepts only
// certificates carrying the manager name (workers hold certificates of the same CA but may not
// read the store). A manager talks to its own member. Peers are not required to connect from
// the address in their certificate (etcd's check of the client certificate's SANs against the
// remote address is off): a multi-homed host's source address need not be its advertise
// address, and the identity that matters is "a manager of this swarm", which the CA and the
// manager name say.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "control/etcd/client.h"

namespace shoal::etcd {

struct MemberConfig {
  std::string name{};     // the manager's node id
  std::string dir{};      // data/, tls/ and etcd.log live here
  std::string peer_ip{};  // the node's advertise address
  uint16_t peer_port = 2380;
  std::string client_ip{};  // empty: peer_ip
  uint16_t client_port = 2379;
  // "name=https://ip:port,..." with this member in it; empty: a cluster of this member alone.
  std::string initial_cluster{};
  bool join_existing = false;      // added with Client::add_member before it starts
  bool force_new_cluster = false;  // keep the data, forget the other members
  std::string cluster_token = "shoal";
  Tls tls{};
  std::string binary = "etcd";
  std::chrono::milliseconds heartbeat{100};
  std::chrono::milliseconds election_timeout{1000};
};

// Where the member's revocation list lives (tls.crl_pem): <dir>/tls/crl.pem.
std::string crl_file(const MemberConfig& config);

std::string peer_url(const std::string& ip, uint16_t port);

class Member {
 public:
  // Writes the TLS files and starts etcd; does not wait for it to serve (see wait_serving).
  static Result<std::unique_ptr<Member>> start(MemberConfig config);
  ~Member();  // stop()
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  const MemberConfig& config() const { return config_; }
  std::string client_endpoint() const;  // host:port for Client::create
  std::string peer_url() const;
  std::unique_ptr<Client> client(Client::Options options = {}) const;

  // Until the member answers Status (it need not have a quorum for that), or the timeout.
  Status wait_serving(std::chrono::milliseconds timeout) const;
  // SIGTERM, then SIGKILL after 5 s; no restart after it.
  void stop();
  // Trusts the roots of `ca_pem` from now on: etcd reads its trusted roots only when it starts,
  // so the file is replaced and etcd restarted (gracefully, back within about a second) after
  // `delay`, which keeps the members of a cluster from all restarting at once and losing the
  // quorum. For a root rotation's end, when the old root must be trusted no more.
  Status trust(const std::string& ca_pem, std::chrono::milliseconds delay = {});
  pid_t pid() const;
  int starts() const;  // how many times etcd was started (restarts + 1)

  // The command line etcd is started with (for tests and the README).
  static std::vector<std::string> command_line(const MemberConfig& config);

 private:
  explicit Member(MemberConfig config) : config_(std::move(config)) {}
  void supervise(std::promise<Status>& started);
  Result<pid_t> spawn();

  MemberConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  pid_t pid_ = -1;
  int starts_ = 0;
  bool stopping_ = false;
  bool restarting_ = false;  // asked for by trust(): no warning when etcd exits
  std::thread thread_;
  std::thread restart_thread_;  // trust()'s delayed restart; joined by stop()
};

}  // namespace shoal::etcd
