#include "ipvs/ipvs_messages.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <sys/socket.h>

#include <array>
#include <utility>

namespace shoal::ipvs {
namespace {

uint8_t command_code(Command command) {
  switch (command) {
    case Command::kNewService:
      return IPVS_CMD_NEW_SERVICE;
    case Command::kDelService:
      return IPVS_CMD_DEL_SERVICE;
    case Command::kNewDest:
      return IPVS_CMD_NEW_DEST;
    case Command::kSetDest:
      return IPVS_CMD_SET_DEST;
    case Command::kDelDest:
      return IPVS_CMD_DEL_DEST;
    case Command::kSetConfig:
      return IPVS_CMD_SET_CONFIG;
    case Command::kGetDests:
      return IPVS_CMD_GET_DEST;
  }
  return 0;
}

// The service, named by its mark; a new one also needs its scheduler, flags, timeout, netmask.
bool put_service(nl_msg* msg, const Request& r) {
  nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
  if (nest == nullptr || nla_put_u16(msg, IPVS_SVC_ATTR_AF, AF_INET) < 0 ||
      nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, r.fwmark) < 0) {
    return false;
  }
  if (r.command == Command::kNewService) {
    const ip_vs_flags flags{0, ~0u};  // no persistence, no one-packet scheduling
    if (nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, r.scheduler.c_str()) < 0 ||
        nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags) < 0 ||
        nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, 0) < 0 ||
        nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, 0xffffffffu) < 0) {
      return false;
    }
  }
  return nla_nest_end(msg, nest) >= 0;
}

bool put_dest(nl_msg* msg, const Request& r) {
  nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
  std::array<uint8_t, 16> addr{};  // union nf_inet_addr: IPv4 in the first four bytes
  const auto bytes = r.dest.bytes();
  std::copy(bytes.begin(), bytes.end(), addr.begin());
  if (nest == nullptr || nla_put(msg, IPVS_DEST_ATTR_ADDR, addr.size(), addr.data()) < 0 ||
      nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(r.dest_port)) < 0 ||
      nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET) < 0) {
    return false;
  }
  if (r.command != Command::kDelDest) {
    if (nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ) < 0 ||
        nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, r.weight) < 0 ||
        nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, 0) < 0 ||
        nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, 0) < 0) {
      return false;
    }
  }
  return nla_nest_end(msg, nest) >= 0;
}

// Only the timeouts given: the kernel keeps the others (it would take a 0 literally).
bool put_config(nl_msg* msg, const Request& r) {
  const std::pair<int, uint32_t> timeouts[] = {{IPVS_CMD_ATTR_TIMEOUT_TCP, r.tcp_timeout},
                                               {IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, r.tcp_fin_timeout},
                                               {IPVS_CMD_ATTR_TIMEOUT_UDP, r.udp_timeout}};
  for (const auto& [attr, seconds] : timeouts) {
    if (seconds != 0 && nla_put_u32(msg, attr, seconds) < 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string describe(const Request& r) {
  static const char* const kNames[] = {
      "add service",        "delete service", "add destination",  "change destination",
      "delete destination", "set timeouts",   "list destinations"};
  std::string text = kNames[static_cast<int>(r.command)];
  if (r.command == Command::kSetConfig) {
    return text;
  }
  text += " fwmark " + std::to_string(r.fwmark);
  if (r.command == Command::kNewDest || r.command == Command::kSetDest ||
      r.command == Command::kDelDest) {
    text += " -> " + r.dest.str() + ":" + std::to_string(r.dest_port);
  }
  return text;
}

Result<NlMsg> encode(const Request& r, int family_id) {
  NlMsg msg(nlmsg_alloc());
  if (!msg) {
    return sys_error("encode IPVS request", describe(r), ENOMEM);
  }
  const int flags =
      r.command == Command::kGetDests ? NLM_F_REQUEST | NLM_F_DUMP : NLM_F_REQUEST | NLM_F_ACK;
  if (genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0, flags,
                  command_code(r.command), IPVS_GENL_VERSION) == nullptr) {
    return sys_error("encode IPVS request", describe(r), ENOBUFS);
  }
  bool ok = true;
  switch (r.command) {
    case Command::kNewService:
    case Command::kDelService:
    case Command::kGetDests:
      ok = put_service(msg.get(), r);
      break;
    case Command::kNewDest:
    case Command::kSetDest:
    case Command::kDelDest:
      ok = put_service(msg.get(), r) && put_dest(msg.get(), r);
      break;
    case Command::kSetConfig:
      ok = put_config(msg.get(), r);
      break;
  }
  if (!ok) {
    return sys_error("encode IPVS request", describe(r), ENOBUFS);
  }
  return msg;
}

Result<DestStats> decode_dest(nlmsghdr* hdr) {
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  nlattr* dest[IPVS_DEST_ATTR_MAX + 1] = {};
  if (genlmsg_parse(hdr, 0, top, IPVS_CMD_ATTR_MAX, nullptr) < 0 ||
      top[IPVS_CMD_ATTR_DEST] == nullptr ||
      nla_parse_nested(dest, IPVS_DEST_ATTR_MAX, top[IPVS_CMD_ATTR_DEST], nullptr) < 0) {
    return sys_error("decode IPVS destination", "dump message", EBADMSG);
  }
  for (int attr : {IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_PORT, IPVS_DEST_ATTR_WEIGHT,
                   IPVS_DEST_ATTR_ACTIVE_CONNS, IPVS_DEST_ATTR_INACT_CONNS}) {
    if (dest[attr] == nullptr) {
      return sys_error("decode IPVS destination", "dump message", EBADMSG,
                       "attribute " + std::to_string(attr) + " missing");
    }
  }
  if (nla_len(dest[IPVS_DEST_ATTR_ADDR]) < 4) {
    return sys_error("decode IPVS destination", "dump message", EBADMSG, "short address");
  }
  const auto* a = static_cast<const uint8_t*>(nla_data(dest[IPVS_DEST_ATTR_ADDR]));
  DestStats d;
  d.ip = Ipv4((uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3]);
  d.port = ntohs(nla_get_u16(dest[IPVS_DEST_ATTR_PORT]));
  d.weight = nla_get_u32(dest[IPVS_DEST_ATTR_WEIGHT]);
  d.active = nla_get_u32(dest[IPVS_DEST_ATTR_ACTIVE_CONNS]);
  d.inactive = nla_get_u32(dest[IPVS_DEST_ATTR_INACT_CONNS]);
  return d;
}

}  // namespace shoal::ipvs
