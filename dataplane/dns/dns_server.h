// The embedded DNS server of a node: one thread running one io_context that serves every task
// namespace's listener (127.0.0.11:53, UDP and TCP) and forwards foreign names upstream.
//
// The agent adds a listener when a task's namespace is ready (with the networks the task is
// attached to) and removes it when the task goes; it feeds service records from the service
// endpoint table. Those calls come from the agent's threads: each one runs on the server's thread
// and returns when done (so a record removed has stopped answering when remove_service returns),
// which keeps every other piece of state single-threaded with no lock.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/dns/dns_forwarder.h"
#include "dataplane/dns/dns_listener.h"
#include "dataplane/dns/dns_records.h"
#include "dataplane/dns/dns_responder.h"
#include "dataplane/netns.h"

namespace shoal::dataplane::dns {

inline constexpr Ipv4 kEmbeddedDnsIp{(127u << 24) | 11u};  // 127.0.0.11, as Docker

struct DnsServerConfig {
  AnswerConfig answers;
  // Upstreams to forward to; when the list is empty, the nameservers of resolv_conf.
  ForwarderConfig forwarder;
  std::string resolv_conf = "/etc/resolv.conf";
  // Named namespace the upstream queries leave from; empty: the namespace of the caller of start.
  std::string forwarder_netns;
  Ipv4 listen_ip = kEmbeddedDnsIp;
  uint16_t listen_port = 53;
  size_t max_tcp_connections = 16;  // per listener
  std::chrono::milliseconds tcp_idle_timeout{10000};
};

struct DnsServerStats {
  ResponderStats responder;
  ForwarderStats forwarder;
  size_t listeners = 0;
  size_t pending_forwards = 0;
  uint64_t tcp_rejected = 0;
};

class DnsServer {
 public:
  using ListenerId = uint64_t;

  static Result<std::unique_ptr<DnsServer>> start(DnsServerConfig config);
  ~DnsServer();  // stops the thread and closes every socket
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Serves 127.0.0.11:53 (UDP and TCP) inside netns, whose lo must be up, answering with the
  // records of networks.
  Result<ListenerId> add_listener(const Netns& netns, std::vector<std::string> networks);
  Status remove_listener(ListenerId id);
  Status set_listener_networks(ListenerId id, std::vector<std::string> networks);

  Status upsert_service(ServiceRecord record);
  void remove_service(const std::string& service_id, const std::string& network_id);
  void remove_service(const std::string& service_id);  // on every network

  DnsServerStats stats();
  const std::vector<UpstreamServer>& upstreams() const { return upstreams_; }

 private:
  DnsServer(DnsServerConfig config, std::vector<UpstreamServer> upstreams);

  // Runs fn on the server thread and returns its result (at once when already there).
  template <typename F>
  auto on_server_thread(F&& fn) -> decltype(fn());

  DnsServerConfig config_;
  std::vector<UpstreamServer> upstreams_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  DnsRecords records_;
  DnsResponder responder_;
  std::unique_ptr<DnsForwarder> forwarder_;
  std::optional<ListenerContext> context_;
  std::map<ListenerId, std::shared_ptr<Listener>> listeners_;
  ListenerId next_listener_id_ = 0;
  std::thread thread_;
};

}  // namespace shoal::dataplane::dns
