#include "control/manager/access/auth.h"

#include <grpcpp/security/auth_context.h>

#include "control/manager/access/cert_status.h"
#include "control/manager/leadership/leader_routing.h"

namespace shoal::manager {

std::optional<pki::NodeIdentity> caller_identity(const grpc::ServerContext& context) {
  auto auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) {
    return std::nullopt;
  }
  auto pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) {
    return std::nullopt;
  }
  auto identity = pki::identity_of(std::string_view(pems.front().data(), pems.front().size()));
  if (!identity.ok()) {
    return std::nullopt;
  }
  return *identity;
}

grpc::Status require_manager(const grpc::ServerContext& context) {
  auto who = caller_identity(context);
  if (!who) {
    return {grpc::StatusCode::UNAUTHENTICATED, "a node certificate is required"};
  }
  if (who->role != pki::NodeRole::kManager) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "node " + who->node_id + " is a worker: control methods need a manager certificate"};
  }
  return grpc::Status::OK;
}

namespace {

constexpr const char* kLocalCaller = "local";

grpc::Status still_manager(const manager::ReadTx& tx, const std::string& node_id) {
  auto node = tx.get_node(node_id);
  if (!node) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "node " + node_id + " is not a member of this swarm: its certificate is revoked"};
  }
  if (node->role != manager::NodeRole::kManager) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "node " + node_id + " is no longer a manager: its manager certificate is revoked"};
  }
  return grpc::Status::OK;
}

}  // namespace

std::string forwarded_for(const grpc::ServerContext& context) {
  auto who = caller_identity(context);
  return who ? who->node_id : kLocalCaller;
}

grpc::Status require_current_manager(const grpc::ServerContext& context,
                                     const manager::ReadTx& tx) {
  auto who = caller_identity(context);
  if (!who)
    return {grpc::StatusCode::UNAUTHENTICATED, "a node certificate is required"};
  if (auto status = still_manager(tx, who->node_id); !status.ok())
    return status;
  if (auto status = require_current_certificate(context, *tx.get_node(who->node_id)); !status.ok())
    return status;
  const auto& metadata = context.client_metadata();
  auto forwarded = metadata.find(kForwardedMetadata);
  if (forwarded == metadata.end())
    return grpc::Status::OK;
  std::string original(forwarded->second.data(), forwarded->second.size());
  return original == kLocalCaller ? grpc::Status::OK : still_manager(tx, original);
}

grpc::Status require_node(const grpc::ServerContext& context, pki::NodeIdentity& who) {
  auto identity = caller_identity(context);
  if (!identity) {
    return {grpc::StatusCode::UNAUTHENTICATED, "a node certificate is required"};
  }
  who = *identity;
  return grpc::Status::OK;
}

}  // namespace shoal::manager
