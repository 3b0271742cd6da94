// Who is calling: the node identity in the caller's TLS certificate (issued by our CA, checked
// by the TLS layer), and the rules that decide what each role may call.
#pragma once

#include <grpcpp/server_context.h>

#include <optional>

#include "control/manager/store/store.h"
#include "control/pki/identity.h"

namespace shoal::manager {

// The verified identity of the peer, or nothing for a caller without a certificate (the unix
// socket, or a node that is still joining).
std::optional<pki::NodeIdentity> caller_identity(const grpc::ServerContext& context);

// Control methods: manager certificates only (on the TCP port).
grpc::Status require_manager(const grpc::ServerContext& context);
// Revocation, after require_manager: a certificate is worth what its node's record is now. The
// node must still be in the store as a manager (a demoted or removed manager's certificate stays
// valid for TLS until it expires). A call that a manager forwarded (leader_routing.h) names its
// original caller, who is held to the same rule.
grpc::Status require_current_manager(const grpc::ServerContext& context, const manager::ReadTx& tx);
// Who a forwarded call is for: the caller's node id, or "local" for the CLI socket.
std::string forwarded_for(const grpc::ServerContext& context);
// Dispatcher methods: any node certificate; returns the node.
grpc::Status require_node(const grpc::ServerContext& context, pki::NodeIdentity& who);

}  // namespace shoal::manager
