#include "control/daemon/auth.h"

#include <grpcpp/security/auth_context.h>

namespace shoal::daemon {

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

grpc::Status require_node(const grpc::ServerContext& context, pki::NodeIdentity& who) {
  auto identity = caller_identity(context);
  if (!identity) {
    return {grpc::StatusCode::UNAUTHENTICATED, "a node certificate is required"};
  }
  who = *identity;
  return grpc::Status::OK;
}

}  // namespace shoal::daemon
