#include "control/manager/ca/ca_service.h"

#include <spdlog/spdlog.h>

#include "common/hostname.h"
#include "common/printable.h"
#include "control/api/grpc_status.h"
#include "control/manager/access/auth.h"
#include "control/manager/access/cert_status.h"
#include "control/manager/leadership/leader_routing.h"

namespace shoal::manager {

namespace {
constexpr size_t kMaxCsrBytes = 16 * 1024;
constexpr auto kForwardDeadline = std::chrono::seconds(60);  // a manager join waits for etcd

// Failures that are the caller's: a wrong token, a bad request. They spend the source's
// tokens; a manager that cannot answer (no leader, etcd unavailable) does not.
bool callers_fault(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::UNAUTHENTICATED:
      return true;
    default:
      return false;
  }
}

// The advertise address a join asks for must be the address it came from.
grpc::Status check_join_address(const std::string& addr, const std::string& source) {
  auto claimed = Ipv4::parse(addr);
  if (!claimed.ok()) {
    return api::invalid("advertise address " + printable(addr, {.max_bytes = 64}) +
                        " is not an IPv4 address");
  }
  if (auto from = Ipv4::parse(source); !from.ok() || *from != *claimed) {
    return api::invalid("advertise address " + addr + " is not the address this join came from (" +
                        (source.empty() ? std::string("unknown") : source) +
                        "): join from the advertise address, the one the managers see");
  }
  return grpc::Status::OK;
}

}  // namespace

Status register_node(ManagerRuntime& manager, const std::string& node_id,
                     const std::string& hostname, Ipv4 addr, pki::NodeRole role) {
  SHOAL_TRY(validate_hostname(hostname));
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
  auto held = source_();
  response->set_pem(held && held->secrets ? held->secrets->trust_bundle_pem() : roots_());
  return grpc::Status::OK;
}

std::string CaService::joining_source(const grpc::ServerContext& context, bool& forwarded) {
  forwarded = false;
  auto named = context.client_metadata().find(kForwardedPeerMetadata);
  if (named != context.client_metadata().end()) {
    // Believed from a manager only: anyone else could name any address.
    if (auto who = caller_identity(context); who && who->role == pki::NodeRole::kManager) {
      forwarded = true;
      return std::string(named->second.data(), named->second.size());
    }
  }
  return peer_ip(context.peer());
}

grpc::Status CaService::forward(const ManagerContext& held, const std::string& source,
                                const api::IssueNodeCertificateRequest& request,
                                api::IssueNodeCertificateResponse& response) const {
  if (!held.channels)
    return {grpc::StatusCode::UNAVAILABLE, api::kNoLeader};
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kForwardDeadline);
  context.AddMetadata(kForwardedPeerMetadata, source);
  // With this manager's own certificate, over the channel kept to the leader: the leader
  // believes the joiner's address because a manager names it.
  auto stub = api::Ca::NewStub(held.channels->get(held.leader_addr));
  return stub->IssueNodeCertificate(&context, request, &response);
}

void CaService::log_refusal(const std::string& source, const std::string& why) {
  auto line = refusals_.admit("join refused from " +
                                  (source.empty() ? std::string("an unknown address") : source) +
                                  ": " + printable_for_log(why),
                              std::chrono::steady_clock::now());
  if (line)
    spdlog::warn("{} (more within 10 s are counted, not logged)", *line);
}

grpc::Status CaService::IssueNodeCertificate(grpc::ServerContext* context,
                                             const api::IssueNodeCertificateRequest* request,
                                             api::IssueNodeCertificateResponse* response) {
  bool forwarded = false;
  auto source = joining_source(*context, forwarded);
  return join(source, forwarded, *request, *response);
}

grpc::Status CaService::join(const std::string& source, bool forwarded,
                             const api::IssueNodeCertificateRequest& request,
                             api::IssueNodeCertificateResponse& response) {
  const auto now = std::chrono::steady_clock::now();
  std::chrono::milliseconds retry_after{0};
  if (!limiter_.allow(source, now, &retry_after)) {
    log_refusal(source, "too many failed attempts");
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "too many failed join attempts from " + source + ": retry in " +
                std::to_string((retry_after.count() + 999) / 1000) + " s"};
  }
  auto held = source_();
  if (!held || held->manager == nullptr || held->secrets == nullptr) {
    // Passed on to the leader, once: a forwarded join is not forwarded again.
    if (!held || held->leader_addr.empty() || forwarded)
      return {grpc::StatusCode::UNAVAILABLE, api::kNoLeader};
    auto status = forward(*held, source, request, response);
    if (!status.ok() && callers_fault(status)) {
      limiter_.failed(source, now);
      log_refusal(source, status.error_message());
    }
    return status;
  }
  pki::NodeRole role{};
  if (auto status = issue(*held, source, request, response, role); !status.ok()) {
    if (callers_fault(status))
      limiter_.failed(source, now);
    log_refusal(source, status.error_message());
    return status;
  }
  if (role != pki::NodeRole::kManager)
    return grpc::Status::OK;
  return finish_manager(std::move(held), response.node_id(), request.addr(), response);
}

grpc::Status CaService::finish_manager(std::shared_ptr<const ManagerContext> held,
                                       const std::string& node_id, const std::string& addr,
                                       api::IssueNodeCertificateResponse& response) {
  const auto& options = held->manager->options();
  response.set_default_addr_pool(options.allocator.default_pool.str());
  response.set_heartbeat_ms(static_cast<uint64_t>(options.heartbeat_period.count()));
  ControlHooks* hooks = held->hooks;
  held.reset();  // a store moving into etcd waits for every holder of the runtime
  return add_manager(*hooks, node_id, addr, response);
}

grpc::Status CaService::RenewNodeCertificate(grpc::ServerContext* context,
                                             const api::RenewNodeCertificateRequest* request,
                                             api::IssueNodeCertificateResponse* response) {
  pki::NodeIdentity who;
  if (auto status = require_node(*context, who); !status.ok())
    return status;
  auto held = source_();
  if (!held || held->manager == nullptr || held->secrets == nullptr)
    return not_leading(*context, held.get());  // the caller's identity cannot be forwarded
  if (request->csr_pem().size() > kMaxCsrBytes)
    return api::invalid("certificate request too large");
  std::optional<manager::Node> node;
  held->manager->store().view([&](const manager::ReadTx& tx) { node = tx.get_node(who.node_id); });
  if (!node)
    return api::not_found("node " + who.node_id + " (removed from the swarm)");
  if (auto current = require_current_certificate(*context, *node); !current.ok())
    return current;
  const pki::NodeRole presented = who.role;  // what the caller's certificate says
  who.role =
      node->role == manager::NodeRole::kManager ? pki::NodeRole::kManager : pki::NodeRole::kWorker;
  who.cluster_id = held->secrets->cluster_id();
  auto cert = held->secrets->sign(request->csr_pem(), who, {node->addr.str()});
  if (!cert.ok())
    return api::to_grpc(cert.error());
  spdlog::info("node {} renewed its certificate as {}", who.node_id, pki::to_ou(who.role));
  record_certificate(*held->manager, who.node_id, cert->chain_pem, cert->issuer);
  response->set_node_id(who.node_id);
  response->set_role(who.role == pki::NodeRole::kManager ? "manager" : "worker");
  response->set_cert_pem(cert->chain_pem);
  response->set_cluster_id(who.cluster_id);
  // Only a promotion makes room for a new manager; a manager's timed renewal changes nothing
  // else (on a single manager, add_manager would move the store into etcd).
  if (who.role != pki::NodeRole::kManager || presented == pki::NodeRole::kManager)
    return grpc::Status::OK;
  return finish_manager(std::move(held), who.node_id, node->addr.str(), *response);
}

grpc::Status CaService::issue(const ManagerContext& held, const std::string& source,
                              const api::IssueNodeCertificateRequest& request,
                              api::IssueNodeCertificateResponse& response,
                              pki::NodeRole& role) const {
  const auto& secrets = *held.secrets;
  auto granted = secrets.role_for(request.token());
  if (!granted.ok())
    return {grpc::StatusCode::PERMISSION_DENIED, granted.error().message()};
  role = *granted;
  if (request.csr_pem().size() > kMaxCsrBytes)
    return api::invalid("certificate request too large");
  if (auto valid = validate_hostname(request.hostname()); !valid.ok())
    return api::to_grpc(valid.error());
  if (auto checked = check_join_address(request.addr(), source); !checked.ok())
    return checked;
  auto addr = Ipv4::parse(request.addr());
  pki::NodeIdentity who{
      .node_id = held.manager->ids().next(), .role = role, .cluster_id = secrets.cluster_id()};
  auto cert = secrets.sign(request.csr_pem(), who, {request.addr()});
  if (!cert.ok())
    return api::to_grpc(cert.error());
  if (auto registered = register_node(*held.manager, who.node_id, request.hostname(), *addr, role);
      !registered.ok()) {
    return api::to_grpc(registered.error(), grpc::StatusCode::ABORTED);
  }
  record_certificate(*held.manager, who.node_id, cert->chain_pem, cert->issuer);
  spdlog::info("node {} ({}, {}) joined as {}", who.node_id, printable_for_log(request.hostname()),
               request.addr(), pki::to_ou(role));
  response.set_node_id(who.node_id);
  response.set_role(role == pki::NodeRole::kManager ? "manager" : "worker");
  response.set_cert_pem(cert->chain_pem);
  response.set_cluster_id(secrets.cluster_id());
  return grpc::Status::OK;
}

grpc::Status CaService::add_manager(ControlHooks& hooks, const std::string& node_id,
                                    const std::string& addr,
                                    api::IssueNodeCertificateResponse& response) {
  auto cluster = hooks.add_manager(node_id, addr);
  if (cluster.ok()) {
    response.set_etcd_initial_cluster(*cluster);
    return grpc::Status::OK;
  }
  // Not a manager after all: its node object goes, so no phantom manager stays in `node ls`.
  if (auto now = source_(); now && now->manager != nullptr) {
    auto removed =
        now->manager->store().update([&](manager::WriteTx& tx) { return tx.remove_node(node_id); });
    if (!removed.ok())
      spdlog::warn("removing node {} after its failed join: {}", node_id,
                   removed.error().message());
  }
  return api::to_grpc(cluster.error(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace shoal::manager
