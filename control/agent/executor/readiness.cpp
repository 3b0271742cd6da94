#include "control/agent/executor/readiness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/unique_fd.h"
#include "dataplane/netns.h"

namespace shoal::agent {
namespace {

constexpr int kConnectTimeoutMs = 100;  // the task is local: an answer is immediate

// A socket made on this thread belongs to the thread's namespace, wherever it is used later.
Result<bool> accepts(Ipv4 ip, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return sys_error("socket", "readiness probe", errno);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = ip.network_order();
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return true;
  }
  if (errno != EINPROGRESS) {
    return false;
  }
  pollfd waiting{fd.get(), POLLOUT, 0};
  if (::poll(&waiting, 1, kConnectTimeoutMs) != 1) {
    return false;
  }
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  return error == 0;
}

}  // namespace

Result<bool> tcp_ports_accept(const std::string& netns_name, Ipv4 ip,
                              const std::vector<uint16_t>& ports) {
  SHOAL_ASSIGN_OR_RETURN(auto ns, dataplane::Netns::open_named(netns_name));
  return dataplane::run_in_netns(ns, [&]() -> Result<bool> {
    for (uint16_t port : ports) {
      SHOAL_ASSIGN_OR_RETURN(bool ok, accepts(ip, port));
      if (!ok) {
        return false;
      }
    }
    return true;
  });
}

}  // namespace shoal::agent
