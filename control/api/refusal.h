// How a manager says it will not serve a call, as both ends read it: a manager that does not
// lead names the leader in a trailer (the agent's session goes there at once), and every
// refusal carries kRefusalMetadata, so a caller tells a refusal from a manager it could not
// reach by that key, never by the message's words. The servers that refuse live in
// control/manager/leadership/leader_routing.h.
#pragma once

#include <grpcpp/grpcpp.h>

namespace shoal::api {

inline constexpr const char* kLeaderMetadata = "shoal-leader";
// "not-leader" (this manager does not lead) or "no-leader" (it knows no leader).
inline constexpr const char* kRefusalMetadata = "shoal-refusal";
inline constexpr const char* kNoLeader =
    "The swarm does not have a leader (no quorum): too few managers are online. Make sure more "
    "than half of the managers are online; tasks keep running meanwhile.";

// Whether an UNAVAILABLE answer came from a manager refusing (it does not lead, or knows no
// leader) rather than from a manager that could not be reached.
inline bool refused_by_a_manager(const grpc::ClientContext& context) {
  return context.GetServerTrailingMetadata().count(kRefusalMetadata) > 0;
}

}  // namespace shoal::api
