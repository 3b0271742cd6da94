// What the dispatcher sends a node, read from the store: the node's live tasks (with their
// service's endpoint), the networks they are on (and the ingress network), the data of the
// configs these tasks use and of no other, and the gossip peers. Pure over a read transaction,
// so what leaves the manager for a node is unit-tested without gRPC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/manager/store/store.h"
#include "swarm.pb.h"

namespace shoal::manager {

// Log subscriptions and the heartbeat period are the dispatcher's to add.
api::Assignments node_assignments(const manager::ReadTx& tx, const std::string& node_id,
                                  uint16_t gossip_port);

// Every manager's API address (IP:PORT), the leader first: the agents' list of where to go.
std::vector<std::string> manager_addresses(const manager::ReadTx& tx, const std::string& leader_id,
                                           uint16_t manager_port);

}  // namespace shoal::manager
