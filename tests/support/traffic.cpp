#include "tests/support/traffic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "dataplane/netns.h"
#include "tests/support/testbed.h"

namespace shoal::testing {

sockaddr_in address_of(Ipv4 ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = ip.network_order();
  return addr;
}

Result<UniqueFd> socket_in(const std::string& ns, int type) {
  SHOAL_ASSIGN_OR_RETURN(dataplane::Netns handle, dataplane::Netns::open_named(ns));
  return dataplane::run_in_netns(handle, [&]() -> Result<UniqueFd> {
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd.valid())
      return sys_error("socket", "in netns " + ns, errno);
    return fd;
  });
}

UniqueFd udp_listener(const std::string& ns, Ipv4 addr, uint16_t port) {
  auto fd = socket_in(ns, SOCK_DGRAM);
  if (!fd.ok()) {
    ADD_FAILURE() << fd.error().message();
    return UniqueFd();
  }
  sockaddr_in local = address_of(addr, port);
  if (::bind(fd->get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    ADD_FAILURE() << "bind " << addr.str() << ":" << port << " in " << ns << ": "
                  << std::strerror(errno);
    return UniqueFd();
  }
  return std::move(*fd);
}

void send_udp(const std::string& ns, Ipv4 to, uint16_t port, const std::vector<uint8_t>& bytes) {
  auto fd = socket_in(ns, SOCK_DGRAM);
  if (!fd.ok()) {
    ADD_FAILURE() << fd.error().message();
    return;
  }
  sockaddr_in dst = address_of(to, port);
  EXPECT_EQ(::sendto(fd->get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                     sizeof dst),
            static_cast<ssize_t>(bytes.size()))
      << "send to " << to.str() << ":" << port << " from " << ns << ": " << std::strerror(errno);
}

namespace {

bool wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & events) != 0;
}

}  // namespace

bool ping(const std::string& ns, Ipv4 ip, PingOptions options) {
  std::vector<std::string> argv{"ping", "-c",
                                "1",    "-q",
                                "-W",   std::to_string(options.timeout_s),
                                "-s",   std::to_string(options.payload)};
  if (options.dont_fragment) {
    argv.insert(argv.end(), {"-M", "do"});
  }
  argv.push_back(ip.str());
  auto result = run_in_ns(ns, argv, (options.timeout_s + 3) * 1000);
  return result.ok() && result->exit_code == 0;
}

Result<std::unique_ptr<TcpEchoServer>> TcpEchoServer::start(const std::string& ns, Ipv4 ip,
                                                            uint16_t port) {
  SHOAL_ASSIGN_OR_RETURN(UniqueFd listener, socket_in(ns));
  const int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = address_of(ip, port);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), 16) != 0) {
    return sys_error("listen", ip.str() + ":" + std::to_string(port) + " in " + ns, errno);
  }
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
  if (!stop.valid())
    return sys_error("eventfd", "echo server", errno);
  return std::unique_ptr<TcpEchoServer>(new TcpEchoServer(std::move(listener), std::move(stop)));
}

TcpEchoServer::TcpEchoServer(UniqueFd listener, UniqueFd stop)
    : listener_(std::move(listener)), stop_(std::move(stop)) {
  thread_ = std::thread([this] { serve(); });
}

TcpEchoServer::~TcpEchoServer() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
  thread_.join();
}

void TcpEchoServer::serve() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN) != 0) {
      return;
    }
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid())
      continue;
    char buf[4096];
    while (wait_for(client.get(), POLLIN, 2000)) {
      ssize_t n = ::read(client.get(), buf, sizeof(buf));
      if (n <= 0 || ::write(client.get(), buf, static_cast<size_t>(n)) != n)
        break;
    }
  }
}

Result<std::unique_ptr<NamedServer>> NamedServer::start(const std::string& ns, Ipv4 ip,
                                                        uint16_t port, std::string name) {
  const std::string where = ip.str() + ":" + std::to_string(port) + " in " + ns;
  SHOAL_ASSIGN_OR_RETURN(UniqueFd tcp, socket_in(ns, SOCK_STREAM));
  SHOAL_ASSIGN_OR_RETURN(UniqueFd udp, socket_in(ns, SOCK_DGRAM));
  const int one = 1;
  ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = address_of(ip, port);
  if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(tcp.get(), 64) != 0 ||
      ::bind(udp.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return sys_error("listen", where, errno);
  }
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
  if (!stop.valid())
    return sys_error("eventfd", where, errno);
  return std::unique_ptr<NamedServer>(
      new NamedServer(std::move(tcp), std::move(udp), std::move(stop), std::move(name)));
}

NamedServer::NamedServer(UniqueFd tcp, UniqueFd udp, UniqueFd stop, std::string name)
    : tcp_(std::move(tcp)), udp_(std::move(udp)), stop_(std::move(stop)), name_(std::move(name)) {
  thread_ = std::thread([this] { serve(); });
}

NamedServer::~NamedServer() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
  thread_.join();
}

void NamedServer::serve() {
  std::vector<UniqueFd> clients;
  while (true) {
    std::vector<pollfd> fds{
        {stop_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}};
    for (const UniqueFd& c : clients)
      fds.push_back({c.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 || (fds[0].revents & POLLIN) != 0) {
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      sockaddr_in peer{};
      socklen_t peer_len = sizeof(peer);
      UniqueFd client(
          ::accept4(tcp_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
      last_peer_ = ntohl(peer.sin_addr.s_addr);
      const std::string greeting = name_ + "\n";
      if (client.valid() && ::write(client.get(), greeting.data(), greeting.size()) > 0) {
        ++connections_;
        clients.push_back(std::move(client));
      }
    }
    if ((fds[2].revents & POLLIN) != 0) {
      char buf[256];
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      if (::recvfrom(udp_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) >=
          0) {
        ::sendto(udp_.get(), name_.data(), name_.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 len);
      }
    }
    for (size_t i = 3; i < fds.size(); ++i) {
      if (fds[i].revents == 0)
        continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0 || ::write(fds[i].fd, buf, static_cast<size_t>(n)) != n) {
        std::erase_if(clients, [&](const UniqueFd& c) { return c.get() == fds[i].fd; });
      }
    }
  }
}

Result<std::string> tcp_exchange(const std::string& ns, Ipv4 ip, uint16_t port,
                                 const std::string& message, int timeout_ms) {
  const std::string peer = ip.str() + ":" + std::to_string(port) + " from " + ns;
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, socket_in(ns));
  ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  sockaddr_in addr = address_of(ip, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    return sys_error("connect", peer, errno);
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (!wait_for(fd.get(), POLLOUT, timeout_ms) ||
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    return sys_error("connect", peer, err != 0 ? err : ETIMEDOUT);
  }
  if (::send(fd.get(), message.data(), message.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(message.size())) {
    return sys_error("send", peer, errno);
  }
  std::string reply;
  char buf[4096];
  while (reply.size() < message.size() && wait_for(fd.get(), POLLIN, timeout_ms)) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n <= 0)
      break;
    reply.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

}  // namespace shoal::testing
