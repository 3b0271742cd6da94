#include "control/manager/leadership/listen_addr.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "common/net_types.h"

namespace shoal::manager {

std::string choose_listen_addr(const std::string& requested, const std::string& configured,
                               const std::string& advertise_addr) {
  if (!requested.empty())
    return requested;
  if (!configured.empty())
    return configured;
  return advertise_addr + ":" + std::to_string(kManagerPort);
}

UniqueFd hold_ipv6_wildcard(const std::string& listen_addr) {
  const uint16_t port = port_of(listen_addr, 0);
  if (port == 0 || listen_addr != "0.0.0.0:" + std::to_string(port))
    return UniqueFd();
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return fd;  // no IPv6 here: gRPC binds IPv4 anyway
  const int one = 1;
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_port = htons(port);
  any.sin6_addr = in6addr_any;
  // IPv6-only, so that gRPC's own 0.0.0.0:PORT still binds beside it.
  if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0 ||
      ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
    return UniqueFd();
  }
  return fd;
}

}  // namespace shoal::manager
