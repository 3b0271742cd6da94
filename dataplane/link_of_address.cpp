#include "dataplane/link_of_address.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <cerrno>
#include <memory>

namespace shoal::dataplane {

Result<std::string> link_holding(Ipv4 address) {
  ifaddrs* raw = nullptr;
  if (::getifaddrs(&raw) != 0)
    return sys_error("list the addresses", "of this namespace", errno);
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> list(raw, ::freeifaddrs);
  for (const ifaddrs* entry = list.get(); entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET)
      continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if (in->sin_addr.s_addr == address.network_order())
      return std::string(entry->ifa_name);
  }
  return sys_error("find the interface", "holding " + address.str(), EADDRNOTAVAIL,
                   "no interface in this namespace has the address");
}

}  // namespace shoal::dataplane
