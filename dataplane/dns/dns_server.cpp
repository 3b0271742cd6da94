#include "dataplane/dns/dns_server.h"

#include <netinet/in.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <future>

namespace shoal::dataplane::dns {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static const std::shared_ptr<spdlog::logger> dns_logger = spdlog::default_logger()->clone("dns");
  return dns_logger;
}

Result<UniqueFd> open_socket(int type, const std::string& what) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return sys_error("open socket", what, errno);
  return fd;
}

Status bind_to(const UniqueFd& fd, Ipv4 ip, uint16_t port, const std::string& what) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = ip.network_order();
  address.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int err = errno;
    return sys_error("bind", what, err, err == EADDRNOTAVAIL ? "is lo up in the namespace?" : "");
  }
  return {};
}

struct ListenerSockets {
  UniqueFd udp;
  UniqueFd tcp;
};

// Runs inside the task namespace: the sockets stay in it for their whole life.
Result<ListenerSockets> open_listener_sockets(Ipv4 ip, uint16_t port, const std::string& label) {
  const std::string where = ip.str() + ":" + std::to_string(port) + " in " + label;
  SHOAL_ASSIGN_OR_RETURN(UniqueFd udp, open_socket(SOCK_DGRAM, "udp " + where));
  SHOAL_TRY(bind_to(udp, ip, port, "udp " + where));
  SHOAL_ASSIGN_OR_RETURN(UniqueFd tcp, open_socket(SOCK_STREAM, "tcp " + where));
  const int on = 1;
  // A restarted agent must rebind while old connections sit in TIME_WAIT.
  ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  SHOAL_TRY(bind_to(tcp, ip, port, "tcp " + where));
  if (::listen(tcp.get(), 64) != 0)
    return sys_error("listen", "tcp " + where, errno);
  return ListenerSockets{std::move(udp), std::move(tcp)};
}

// The server thread lives in the namespace forwarded queries leave from, since the forwarder
// opens a socket per query there. Nothing else on it depends on its namespace: listeners' sockets
// are opened inside their task namespaces and handed over.
Status enter_forwarder_netns(const std::optional<Netns>& netns) {
  if (netns && ::setns(netns->fd(), CLONE_NEWNET) != 0)
    return sys_error("enter netns", netns->label(), errno, "dns forwarder");
  return {};
}

}  // namespace

DnsServer::DnsServer(DnsServerConfig config, std::vector<UpstreamServer> upstreams)
    : config_(std::move(config)),
      upstreams_(std::move(upstreams)),
      work_(io_.get_executor()),
      responder_(records_, config_.answers) {}

Result<std::unique_ptr<DnsServer>> DnsServer::start(DnsServerConfig config) {
  std::vector<UpstreamServer> upstreams = config.forwarder.upstreams;
  if (upstreams.empty()) {
    auto from_file = upstreams_from_resolv_conf(config.resolv_conf);
    if (from_file.ok()) {
      upstreams = std::move(*from_file);
    } else {
      // Local names must still resolve; foreign ones get SERVFAIL until a restart fixes this.
      logger()->warn("no upstream resolvers: {}", from_file.error().message());
    }
  }
  std::optional<Netns> forwarder_netns;
  if (!config.forwarder_netns.empty()) {
    SHOAL_ASSIGN_OR_RETURN(forwarder_netns, Netns::open_named(config.forwarder_netns));
  }
  std::unique_ptr<DnsServer> server(new DnsServer(std::move(config), upstreams));
  ForwarderConfig forwarder_config = server->config_.forwarder;
  forwarder_config.upstreams = std::move(upstreams);
  SHOAL_ASSIGN_OR_RETURN(server->forwarder_,
                         DnsForwarder::create(server->io_, std::move(forwarder_config)));
  server->context_.emplace(ListenerContext{server->responder_, *server->forwarder_,
                                           server->config_.max_tcp_connections,
                                           server->config_.tcp_idle_timeout});
  std::promise<Status> entered;
  auto in_netns = entered.get_future();
  server->thread_ = std::thread([s = server.get(), &forwarder_netns, &entered] {
    Status status = enter_forwarder_netns(forwarder_netns);
    const bool ok = status.ok();
    entered.set_value(std::move(status));
    if (ok)
      s->io_.run();
  });
  if (Status status = in_netns.get(); !status.ok()) {
    server->thread_.join();
    return std::move(status).error();  // the destructor finds no thread to stop
  }
  return server;
}

DnsServer::~DnsServer() {
  if (thread_.joinable()) {
    on_server_thread([this] {
      for (auto& [id, listener] : listeners_)
        listener->stop();
      listeners_.clear();
      return 0;
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }
}

template <typename F>
auto DnsServer::on_server_thread(F&& fn) -> decltype(fn()) {
  if (std::this_thread::get_id() == thread_.get_id())
    return fn();
  std::packaged_task<decltype(fn())()> task(std::forward<F>(fn));
  auto done = task.get_future();
  boost::asio::post(io_, [&task] { task(); });
  return done.get();
}

Result<DnsServer::ListenerId> DnsServer::add_listener(const Netns& netns,
                                                      std::vector<std::string> networks) {
  // The sockets are made on a thread inside the namespace, then handed to the server thread.
  SHOAL_ASSIGN_OR_RETURN(ListenerSockets sockets, run_in_netns(netns, [&] {
                           return open_listener_sockets(config_.listen_ip, config_.listen_port,
                                                        netns.label());
                         }));
  return on_server_thread([&]() -> Result<ListenerId> {
    auto listener = std::make_shared<Listener>(io_, *context_, netns.label(), std::move(networks));
    SHOAL_TRY(listener->start(std::move(sockets.udp), std::move(sockets.tcp)));
    const ListenerId id = ++next_listener_id_;
    listeners_.emplace(id, std::move(listener));
    logger()->info("listening on {}:{} in {}", config_.listen_ip.str(), config_.listen_port,
                   netns.label());
    return id;
  });
}

Status DnsServer::remove_listener(ListenerId id) {
  return on_server_thread([&]() -> Status {
    auto it = listeners_.find(id);
    if (it == listeners_.end())
      return invalid_argument("dns listener " + std::to_string(id), "no such listener");
    it->second->stop();
    listeners_.erase(it);
    return {};
  });
}

Status DnsServer::set_listener_networks(ListenerId id, std::vector<std::string> networks) {
  return on_server_thread([&]() -> Status {
    auto it = listeners_.find(id);
    if (it == listeners_.end())
      return invalid_argument("dns listener " + std::to_string(id), "no such listener");
    it->second->set_networks(std::move(networks));
    return {};
  });
}

Status DnsServer::upsert_service(ServiceRecord record) {
  return on_server_thread([&] { return records_.upsert(std::move(record)); });
}

void DnsServer::remove_service(const std::string& service_id, const std::string& network_id) {
  on_server_thread([&] {
    records_.remove(service_id, network_id);
    return 0;
  });
}

void DnsServer::remove_service(const std::string& service_id) {
  on_server_thread([&] {
    records_.remove_service(service_id);
    return 0;
  });
}

DnsServerStats DnsServer::stats() {
  return on_server_thread([&] {
    return DnsServerStats{responder_.stats(), forwarder_->stats(), listeners_.size(),
                          forwarder_->pending(), context_->tcp_rejected};
  });
}

}  // namespace shoal::dataplane::dns
