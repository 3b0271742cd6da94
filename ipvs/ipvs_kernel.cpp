#include "ipvs/ipvs_kernel.h"

#include <linux/ip_vs.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/route/link.h>
#include <nftables/libnftables.h>

#include <cerrno>
#include <fstream>

#include "dataplane/lb/load_balancer.h"
#include "dataplane/netlink_socket.h"
#include "ipvs/ipvs_probe.h"

namespace shoal::ipvs {

// ip_forward=1: a reply to a published port, de-masqueraded, is forwarded to the outside client.
// conntrack=1: netfilter keeps tracking IPVS connections, so the nftables masquerade applies
// and replies are translated back. expire_nodest_conn=0: a connection whose backend left the
// service keeps flowing to it until it ends (the caller drains with weight 0 first).
// expire_quiescent_template=1: persistence templates of a drained backend expire.
// conn_reuse_mode=0: a reused client port is not rescheduled (mode 1 stalls new connections for a
// second under load).
const Sysctl kIpvsSysctls[5] = {{"ip_forward", "1"},
                                {"vs/conntrack", "1"},
                                {"vs/expire_nodest_conn", "1"},
                                {"vs/expire_quiescent_template", "1"},
                                {"vs/conn_reuse_mode", "0"}};

namespace {

using dataplane::nl_error;
using dataplane::NlDeleter;

using GenlSock = std::unique_ptr<nl_sock, NlDeleter<nl_sock, nl_socket_free>>;
using NftCtx = std::unique_ptr<nft_ctx, NlDeleter<nft_ctx, nft_ctx_free>>;

// Runs fn in ns when one is given, else right here.
template <typename F>
auto in_ns(const std::optional<dataplane::Netns>& ns, F&& fn) -> std::invoke_result_t<F&> {
  if (ns) {
    return dataplane::run_in_netns(*ns, fn);
  }
  return fn();
}

Status write_sysctls() {
  for (const Sysctl& s : kIpvsSysctls) {
    const std::string path = std::string("/proc/sys/net/ipv4/") + s.key;
    std::ofstream file(path);
    file << s.value;
    file.flush();
    if (!file) {
      return sys_error("set sysctl", path, errno == 0 ? EIO : errno);
    }
  }
  return {};
}

}  // namespace

struct LinuxIpvsKernel::Sockets {
  std::optional<dataplane::Netns> ns;
  GenlSock genl;
  int family = 0;
  std::optional<dataplane::NlSocket> route;
  NftCtx nft;
  int vip_ifindex = 0;
  std::string where;  // "in netns X" for messages
};

LinuxIpvsKernel::LinuxIpvsKernel(std::unique_ptr<Sockets> sockets) : sockets_(std::move(sockets)) {}
LinuxIpvsKernel::~LinuxIpvsKernel() = default;

Result<std::unique_ptr<LinuxIpvsKernel>> LinuxIpvsKernel::open(std::optional<dataplane::Netns> ns) {
  auto s = std::make_unique<Sockets>();
  s->where = ns ? "in netns " + ns->label() : "in this netns";
  SHOAL_TRY(lb::ipvs_available());
  Status opened = in_ns(ns, [&]() -> Status {
    s->genl.reset(nl_socket_alloc());
    if (!s->genl) {
      return sys_error("open generic netlink socket", s->where, ENOMEM);
    }
    int err = genl_connect(s->genl.get());
    if (err < 0) {
      return nl_error("open generic netlink socket", s->where, err);
    }
    s->family = genl_ctrl_resolve(s->genl.get(), IPVS_GENL_NAME);
    if (s->family < 0) {
      return nl_error("resolve generic netlink family", IPVS_GENL_NAME, s->family);
    }
    SHOAL_TRY(write_sysctls());
    s->nft.reset(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!s->nft) {
      return sys_error("open nftables context", s->where, ENOMEM);
    }
    nft_ctx_buffer_output(s->nft.get());
    nft_ctx_buffer_error(s->nft.get());
    return {};
  });
  SHOAL_TRY(opened);
  std::optional<dataplane::Netns> current;
  if (!ns) {
    SHOAL_ASSIGN_OR_RETURN(auto self, dataplane::Netns::current());
    current.emplace(std::move(self));
  }
  SHOAL_ASSIGN_OR_RETURN(auto route, dataplane::NlSocket::open_in(ns ? *ns : *current));
  s->route.emplace(std::move(route));
  s->ns = std::move(ns);
  // The dummy link holding the VIPs: up, so that their local routes are in place.
  dataplane::NlLink link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), kVipLink);
  if (int err = rtnl_link_set_type(link.get(), "dummy"); err < 0) {
    return nl_error("create link", std::string(kVipLink) + " " + s->where, err);
  }
  rtnl_link_set_flags(link.get(), IFF_UP);
  int err = rtnl_link_add(s->route->get(), link.get(), NLM_F_CREATE);
  if (err < 0 && err != -NLE_EXIST) {
    return nl_error("create link", std::string(kVipLink) + " " + s->where, err);
  }
  rtnl_link* found = nullptr;
  err = rtnl_link_get_kernel(s->route->get(), 0, kVipLink, &found);
  if (err < 0) {
    return nl_error("find link", std::string(kVipLink) + " " + s->where, err);
  }
  dataplane::NlLink held(found);
  s->vip_ifindex = rtnl_link_get_ifindex(found);
  if ((rtnl_link_get_flags(found) & IFF_UP) == 0) {
    dataplane::NlLink change(rtnl_link_alloc());
    rtnl_link_set_flags(change.get(), IFF_UP);
    if (err = rtnl_link_change(s->route->get(), found, change.get(), 0); err < 0) {
      return nl_error("set link up", std::string(kVipLink) + " " + s->where, err);
    }
  }
  return std::unique_ptr<LinuxIpvsKernel>(new LinuxIpvsKernel(std::move(s)));
}

Status LinuxIpvsKernel::send(const Request& request) {
  SHOAL_ASSIGN_OR_RETURN(NlMsg msg, encode(request, sockets_->family));
  int err = nl_send_auto(sockets_->genl.get(), msg.get());
  if (err >= 0) {
    err = nl_wait_for_ack(sockets_->genl.get());
  }
  if (err < 0) {
    return nl_error(describe(request), sockets_->where, err);
  }
  return {};
}

Result<std::vector<DestStats>> LinuxIpvsKernel::dests(uint32_t fwmark) {
  SHOAL_ASSIGN_OR_RETURN(NlMsg msg,
                         encode(service_request(Command::kGetDests, fwmark), sockets_->family));
  nl_sock* sock = sockets_->genl.get();
  int err = nl_send_auto(sock, msg.get());
  if (err < 0) {
    return nl_error("list destinations", "fwmark " + std::to_string(fwmark), err);
  }
  struct Collected {
    std::vector<DestStats> dests;
    std::optional<Error> error;
  } collected;
  std::unique_ptr<nl_cb, NlDeleter<nl_cb, nl_cb_put>> cb(nl_cb_alloc(NL_CB_DEFAULT));
  nl_cb_set(
      cb.get(), NL_CB_VALID, NL_CB_CUSTOM,
      [](nl_msg* m, void* arg) -> int {
        auto* c = static_cast<Collected*>(arg);
        auto d = decode_dest(nlmsg_hdr(m));
        if (d.ok()) {
          c->dests.push_back(*d);
        } else if (!c->error) {
          c->error = d.error();
        }
        return NL_OK;
      },
      &collected);
  err = nl_recvmsgs(sock, cb.get());
  if (err < 0) {
    return nl_error("list destinations", "fwmark " + std::to_string(fwmark), err);
  }
  if (collected.error) {
    return *collected.error;
  }
  return collected.dests;
}

Status LinuxIpvsKernel::nft(const std::string& script) {
  return in_ns(sockets_->ns, [&]() -> Status {
    if (nft_run_cmd_from_buffer(sockets_->nft.get(), script.c_str()) != 0) {
      std::string error = nft_ctx_get_error_buffer(sockets_->nft.get());
      while (!error.empty() && error.back() == '\n') {
        error.pop_back();
      }
      return sys_error("apply nftables script", sockets_->where, 0, error);
    }
    return {};
  });
}

Result<std::string> LinuxIpvsKernel::nft_json(const std::string& command) {
  return in_ns(sockets_->ns, [&]() -> Result<std::string> {
    nft_ctx* ctx = sockets_->nft.get();
    const unsigned flags = nft_ctx_output_get_flags(ctx);
    nft_ctx_output_set_flags(ctx, flags | NFT_CTX_OUTPUT_JSON);
    const int rc = nft_run_cmd_from_buffer(ctx, command.c_str());
    nft_ctx_output_set_flags(ctx, flags);
    if (rc != 0) {
      std::string error = nft_ctx_get_error_buffer(ctx);
      while (!error.empty() && error.back() == '\n')
        error.pop_back();
      return sys_error("run nft", command + " " + sockets_->where, 0, error);
    }
    return std::string(nft_ctx_get_output_buffer(ctx));
  });
}

Status LinuxIpvsKernel::add_vip(Ipv4 vip) {
  dataplane::NlRtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), sockets_->vip_ifindex);
  dataplane::NlAddr local = dataplane::make_nl_addr(vip, 32);
  rtnl_addr_set_local(addr.get(), local.get());
  int err = rtnl_addr_add(sockets_->route->get(), addr.get(), 0);
  if (err < 0 && err != -NLE_EXIST) {
    return nl_error("add VIP", vip.str() + " on " + kVipLink + " " + sockets_->where, err);
  }
  return {};
}

Status LinuxIpvsKernel::remove_vip(Ipv4 vip) {
  dataplane::NlRtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), sockets_->vip_ifindex);
  dataplane::NlAddr local = dataplane::make_nl_addr(vip, 32);
  rtnl_addr_set_local(addr.get(), local.get());
  int err = rtnl_addr_delete(sockets_->route->get(), addr.get(), 0);
  if (err < 0 && !dataplane::nl_is_not_found(err)) {
    return nl_error("remove VIP", vip.str() + " from " + kVipLink + " " + sockets_->where, err);
  }
  return {};
}

Status LinuxIpvsKernel::remove_vip_link() {
  dataplane::NlLink link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), kVipLink);
  int err = rtnl_link_delete(sockets_->route->get(), link.get());
  if (err < 0 && !dataplane::nl_is_not_found(err)) {
    return nl_error("delete link", std::string(kVipLink) + " " + sockets_->where, err);
  }
  return {};
}

}  // namespace shoal::ipvs
