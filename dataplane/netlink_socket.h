// RAII over libnl: the route socket and the objects it hands out, and its error codes turned
// into shoal::Error values that carry the kernel's errno text.
#pragma once

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <memory>
#include <string>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/netns.h"

namespace shoal::dataplane {

template <typename T, void (*Release)(T*)>
struct NlDeleter {
  void operator()(T* p) const {
    if (p != nullptr) {
      Release(p);
    }
  }
};

using NlLink = std::unique_ptr<rtnl_link, NlDeleter<rtnl_link, rtnl_link_put>>;
using NlAddr = std::unique_ptr<nl_addr, NlDeleter<nl_addr, nl_addr_put>>;
using NlRtAddr = std::unique_ptr<rtnl_addr, NlDeleter<rtnl_addr, rtnl_addr_put>>;
using NlRoute = std::unique_ptr<rtnl_route, NlDeleter<rtnl_route, rtnl_route_put>>;
using NlNeigh = std::unique_ptr<rtnl_neigh, NlDeleter<rtnl_neigh, rtnl_neigh_put>>;
using NlCache = std::unique_ptr<nl_cache, NlDeleter<nl_cache, nl_cache_free>>;

// A NETLINK_ROUTE socket opened inside a given namespace. A netlink socket stays bound to the
// namespace it was created in, so it can then be used from any thread.
class NlSocket {
 public:
  static Result<NlSocket> open_in(const Netns& ns);

  nl_sock* get() const { return sock_.get(); }

 private:
  explicit NlSocket(nl_sock* sock) : sock_(sock) {}
  std::unique_ptr<nl_sock, NlDeleter<nl_sock, nl_socket_free>> sock_;
};

// errno for a libnl error code, 0 when libnl's code has no errno counterpart.
int errno_of_nl(int nl_error);
bool nl_is_not_found(int nl_error);
// An Error for a failed libnl call (err is the negative value libnl returned).
Error nl_error(std::string op, std::string object, int err);

NlAddr make_nl_addr(Ipv4 ip, int prefix_length = 32);
NlAddr make_nl_addr(const Mac& mac);
Ipv4 ipv4_of(nl_addr* addr);
Mac mac_of(nl_addr* addr);

}  // namespace shoal::dataplane
