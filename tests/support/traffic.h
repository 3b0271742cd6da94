// Traffic between endpoints for tests: ICMP through ping(8), TCP through a real echo server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "common/net_types.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace shoal::testing {

struct PingOptions {
  int payload = 56;
  bool dont_fragment = false;
  int timeout_s = 2;
};
// True when one echo request from namespace ns to ip is answered.
bool ping(const std::string& ns, Ipv4 ip, PingOptions options = {});

// A TCP server inside a namespace that echoes what each client sends, one client at a time.
class TcpEchoServer {
 public:
  static Result<std::unique_ptr<TcpEchoServer>> start(const std::string& ns, Ipv4 ip,
                                                      uint16_t port);
  ~TcpEchoServer();

 private:
  TcpEchoServer(UniqueFd listener, UniqueFd stop);
  void serve();

  UniqueFd listener_;
  UniqueFd stop_;  // eventfd: written by the destructor
  std::thread thread_;
};

// A backend for load-balancer tests, inside a namespace: each TCP client gets `name` and a
// newline, then an echo of what it sends; each UDP datagram is answered with `name`.
class NamedServer {
 public:
  static Result<std::unique_ptr<NamedServer>> start(const std::string& ns, Ipv4 ip, uint16_t port,
                                                    std::string name);
  ~NamedServer();
  int connections() const { return connections_.load(); }
  // The source address of the latest TCP client, as the server saw it.
  Ipv4 last_peer() const { return Ipv4(last_peer_.load()); }

 private:
  NamedServer(UniqueFd tcp, UniqueFd udp, UniqueFd stop, std::string name);
  void serve();

  UniqueFd tcp_;
  UniqueFd udp_;
  UniqueFd stop_;
  std::string name_;
  std::atomic<int> connections_{0};
  std::atomic<uint32_t> last_peer_{0};
  std::thread thread_;
};

// An IPv4 socket made inside namespace ns (it stays there whichever thread uses it).
Result<UniqueFd> socket_in(const std::string& ns, int type = SOCK_STREAM);
sockaddr_in address_of(Ipv4 ip, uint16_t port);
// A UDP socket bound to addr:port inside ns; invalid, with the test failed saying why, if not.
UniqueFd udp_listener(const std::string& ns, Ipv4 addr, uint16_t port);
// One datagram from inside ns to to:port; a failure fails the test.
void send_udp(const std::string& ns, Ipv4 to, uint16_t port, const std::vector<uint8_t>& bytes);

// Connects from namespace ns to ip:port, sends message, returns what came back.
Result<std::string> tcp_exchange(const std::string& ns, Ipv4 ip, uint16_t port,
                                 const std::string& message, int timeout_ms = 3000);

}  // namespace shoal::testing
