#include "dataplane/netlink_socket.h"

#include <netlink/errno.h>
#include <sys/socket.h>

#include <cstring>

namespace shoal::dataplane {

Result<NlSocket> NlSocket::open_in(const Netns& ns) {
  return run_in_netns(ns, [&]() -> Result<NlSocket> {
    NlSocket socket(nl_socket_alloc());
    if (!socket.get()) {
      return sys_error("open netlink socket", "in netns " + ns.label(), ENOMEM);
    }
    if (int err = nl_connect(socket.get(), NETLINK_ROUTE); err < 0) {
      return nl_error("open netlink socket", "in netns " + ns.label(), err);
    }
    return socket;
  });
}

int errno_of_nl(int nl_error) {
  switch (nl_error < 0 ? -nl_error : nl_error) {
    case NLE_INTR:
      return EINTR;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_EXIST:
      return EEXIST;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_MSGSIZE:
      return EMSGSIZE;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_BUSY:
      return EBUSY;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_PERM:
      return EPERM;
    case NLE_NODEV:
      return ENODEV;
    default:
      return 0;
  }
}

bool nl_is_not_found(int nl_error) {
  int e = errno_of_nl(nl_error);
  return e == ENOENT || e == ENODEV || e == EADDRNOTAVAIL;
}

Error nl_error(std::string op, std::string object, int err) {
  int errnum = errno_of_nl(err);
  return sys_error(std::move(op), std::move(object), errnum,
                   errnum == 0 ? std::string("netlink: ") + nl_geterror(err) : std::string());
}

NlAddr make_nl_addr(Ipv4 ip, int prefix_length) {
  uint32_t be = ip.network_order();
  NlAddr addr(nl_addr_build(AF_INET, &be, sizeof(be)));
  if (addr) {
    nl_addr_set_prefixlen(addr.get(), prefix_length);
  }
  return addr;
}

NlAddr make_nl_addr(const Mac& mac) {
  return NlAddr(nl_addr_build(AF_LLC, mac.bytes().data(), mac.bytes().size()));
}

Ipv4 ipv4_of(nl_addr* addr) {
  if (addr == nullptr || nl_addr_get_family(addr) != AF_INET || nl_addr_get_len(addr) != 4) {
    return Ipv4();
  }
  uint32_t be = 0;
  std::memcpy(&be, nl_addr_get_binary_addr(addr), sizeof(be));
  return Ipv4(ntohl(be));
}

Mac mac_of(nl_addr* addr) {
  std::array<uint8_t, 6> bytes{};
  if (addr != nullptr && nl_addr_get_len(addr) == bytes.size()) {
    std::memcpy(bytes.data(), nl_addr_get_binary_addr(addr), bytes.size());
  }
  return Mac(bytes);
}

}  // namespace shoal::dataplane
