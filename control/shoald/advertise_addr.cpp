#include "control/shoald/advertise_addr.h"

#include "common/net_types.h"
#include "dataplane/link_of_address.h"

namespace shoal::shoald {

Status check_advertise_addr(const std::string& addr) {
  auto ip = Ipv4::parse(addr);
  if (!ip.ok()) {
    return invalid_argument("advertise address \"" + addr + "\"",
                            "is not an IPv4 address (use --advertise-addr)");
  }
  if (!dataplane::link_holding(*ip).ok()) {
    return invalid_argument(
        "advertise address \"" + addr + "\"",
        "no interface of this host holds it (the overlays and the routing mesh use the interface "
        "that does: give one of this host's addresses with --advertise-addr)");
  }
  return {};
}

}  // namespace shoal::shoald
