#include "control/daemon/ca_service.h"

#include <spdlog/spdlog.h>

#include "control/daemon/grpc_status.h"

namespace shoal::daemon {

namespace {
constexpr size_t kMaxCsrBytes = 16 * 1024;
constexpr size_t kMaxHostnameBytes = 253;
}  // namespace

Status register_node(ManagerRuntime& manager, const std::string& node_id,
                     const std::string& hostname, Ipv4 addr, pki::NodeRole role) {
  manager::Node node;
  node.id = node_id;
  node.hostname = hostname;
  node.addr = addr;
  node.role =
      role == pki::NodeRole::kManager ? manager::NodeRole::kManager : manager::NodeRole::kWorker;
  return manager.store().update([&](manager::WriteTx& tx) { return tx.create(node); });
}

grpc::Status CaService::GetRootCertificate(grpc::ServerContext*, const api::Empty*,
                                           api::RootCertificate* response) {
  response->set_pem(secrets_.ca().cert_pem());
  return grpc::Status::OK;
}

grpc::Status CaService::IssueNodeCertificate(grpc::ServerContext* context,
                                             const api::IssueNodeCertificateRequest* request,
                                             api::IssueNodeCertificateResponse* response) {
  auto role = secrets_.role_for(request->token());
  if (!role.ok()) {
    spdlog::warn("join refused from {}: {}", context->peer(), role.error().message());
    return {grpc::StatusCode::PERMISSION_DENIED, role.error().message()};
  }
  if (*role == pki::NodeRole::kManager) {
    // Refused here, before the node is registered: a manager node that never joins would stay
    // in the store as an Unknown, "Reachable" manager.
    return failed_precondition(
        "joining as a manager needs several managers, which this version does not run yet: "
        "join with the worker token");
  }
  if (request->csr_pem().size() > kMaxCsrBytes || request->hostname().size() > kMaxHostnameBytes) {
    return invalid("certificate request or hostname too large");
  }
  auto addr = Ipv4::parse(request->addr());
  if (!addr.ok())
    return invalid("advertise address " + request->addr() + " is not an IPv4 address");
  pki::NodeIdentity who{
      .node_id = manager_.ids().next(), .role = *role, .cluster_id = secrets_.cluster_id()};
  auto cert = secrets_.ca().sign(request->csr_pem(), who, {request->addr()});
  if (!cert.ok())
    return to_grpc(cert.error());
  if (auto registered = register_node(manager_, who.node_id, request->hostname(), *addr, *role);
      !registered.ok()) {
    return to_grpc(registered.error(), grpc::StatusCode::ABORTED);
  }
  spdlog::info("node {} ({}, {}) joined as {}", who.node_id, request->hostname(), request->addr(),
               pki::to_ou(*role));
  response->set_node_id(who.node_id);
  response->set_role(*role == pki::NodeRole::kManager ? "manager" : "worker");
  response->set_cert_pem(*cert);
  response->set_cluster_id(secrets_.cluster_id());
  return grpc::Status::OK;
}

}  // namespace shoal::daemon
