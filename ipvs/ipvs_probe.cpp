#include "ipvs/ipvs_probe.h"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <cerrno>
#include <fstream>
#include <memory>

namespace shoal::lb {

namespace {

bool ipvs_loaded() {
  // /proc/net/ip_vs exists exactly when the ip_vs module is loaded or built in.
  return std::ifstream("/proc/net/ip_vs").good();
}

// Resolving the IPVS generic-netlink family makes the kernel load ip_vs when it is a module.
void try_autoload() {
  std::unique_ptr<nl_sock, void (*)(nl_sock*)> sock(nl_socket_alloc(), nl_socket_free);
  if (sock && genl_connect(sock.get()) == 0) {
    (void)genl_ctrl_resolve(sock.get(), "IPVS");
  }
}

}  // namespace

Status ipvs_available() {
  if (ipvs_loaded()) {
    return {};
  }
  try_autoload();
  if (ipvs_loaded()) {
    return {};
  }
  return sys_error("use the IPVS load balancer", "on this kernel", ENOENT,
                   "IPVS is not available (CONFIG_IP_VS unset or the ip_vs module missing); use "
                   "the eBPF backend (--lb-backend ebpf)");
}

}  // namespace shoal::lb
