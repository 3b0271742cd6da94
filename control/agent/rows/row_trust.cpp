#include "control/agent/rows/row_trust.h"

#include "common/printable.h"
#include "control/agent/rows/endpoint_table.h"
#include "control/agent/rows/peer_record.h"
#include "control/manager/rules/validation.h"

namespace shoal::agent {

namespace {

Status in_subnet(const SwarmView& view, const std::string& network, Ipv4 ip, const char* what) {
  auto subnet = view.subnets.find(network);
  if (subnet == view.subnets.end())
    return invalid_argument("network " + printable_for_log(network), "is not one of this node's");
  if (!subnet->second.contains(ip)) {
    return invalid_argument(std::string(what) + " " + ip.str(),
                            "is outside subnet " + subnet->second.str());
  }
  return {};
}

// The manager's holder of `ip` on `network`, which must be `owner`.
Result<const AddressHolder*> held_by(const SwarmView& view, const std::string& network, Ipv4 ip,
                                     const std::string& owner) {
  auto holders = view.addresses.find(network);
  const AddressHolder* holder = nullptr;
  if (holders != view.addresses.end()) {
    if (auto it = holders->second.find(ip); it != holders->second.end())
      holder = &it->second;
  }
  if (holder == nullptr)
    return invalid_argument("address " + ip.str(), "is assigned to nothing on this network");
  if (holder->node != owner) {
    return invalid_argument("address " + ip.str(),
                            "belongs to node " + holder->node + ", not to the row's owner");
  }
  return holder;
}

Status check_peer(const SwarmView& view, Ipv4 owner_addr,
                  const gossip::networkdb::WatchEvent& event) {
  SHOAL_ASSIGN_OR_RETURN(auto peer, decode_peer(event.value));
  if (peer.vtep != owner_addr) {
    return invalid_argument("VTEP " + peer.vtep.str(),
                            "is not the owner's address " + owner_addr.str());
  }
  if (peer.mac != Mac::from_ipv4(peer.ip.addr()))
    return invalid_argument("MAC " + peer.mac.str(), "is not the one of " + peer.ip.addr().str());
  SHOAL_TRY(in_subnet(view, event.network, peer.ip.addr(), "address"));
  SHOAL_TRY(held_by(view, event.network, peer.ip.addr(), event.owner));
  return {};
}

Status check_endpoint(const SwarmView& view, const gossip::networkdb::WatchEvent& event) {
  SHOAL_ASSIGN_OR_RETURN(auto row, decode_endpoint(event.value, event.network, event.key, false));
  SHOAL_TRY(manager::validate_name("service", row.service_name));
  for (const auto& alias : row.aliases)
    SHOAL_TRY(manager::validate_name("alias", alias));
  SHOAL_TRY(in_subnet(view, event.network, row.task_ip, "task address"));
  if (row.vip)
    SHOAL_TRY(in_subnet(view, event.network, *row.vip, "VIP"));
  SHOAL_ASSIGN_OR_RETURN(const AddressHolder* holder,
                         held_by(view, event.network, row.task_ip, event.owner));
  if (holder->task.empty() || holder->task != row.task_id)
    return invalid_argument("task address " + row.task_ip.str(),
                            "is not task " + row.task_id + "'s");
  if (holder->service_id != row.service_id || holder->service_name != row.service_name)
    return invalid_argument("task " + row.task_id, "is not a task of service " + row.service_name);
  if (row.vip != holder->vip)
    return invalid_argument("VIP " + row.vip.value_or(Ipv4{}).str(),
                            "is not service " + row.service_name + "'s");
  return {};
}

}  // namespace

Status check_row(const SwarmView& view, const std::string& self,
                 const gossip::networkdb::WatchEvent& event) {
  if (event.owner == self)
    return {};
  auto owner = view.nodes.find(event.owner);
  if (owner == view.nodes.end())
    return invalid_argument("owner " + printable_for_log(event.owner),
                            "is not a node of this swarm");
  if (event.table == kPeerTable)
    return check_peer(view, owner->second, event);
  if (event.table == kEndpointTable)
    return check_endpoint(view, event);
  return {};
}

}  // namespace shoal::agent
