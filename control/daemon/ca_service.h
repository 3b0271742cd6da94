// The Ca API: the one service reachable without a certificate. A joining node fetches the root
// certificate (and checks its digest against its token before trusting it), then presents the
// token with a CSR; a valid token makes it a node of the store and gets it a certificate naming
// its new node id and role. Only the leader signs (it holds the CA key and writes the node);
// another manager forwards the request to it. A manager token also gets the new manager an etcd
// member (ControlHooks::add_manager) and the cluster list it starts with.
#pragma once

#include "control/daemon/cluster_secrets.h"
#include "control/daemon/control_service.h"
#include "control/daemon/manager_runtime.h"
#include "swarm.grpc.pb.h"

namespace shoal::daemon {

class CaService final : public api::Ca::Service {
 public:
  CaService(ManagerSource source, std::string ca_cert_pem)
      : source_(std::move(source)), ca_cert_pem_(std::move(ca_cert_pem)) {}

  grpc::Status GetRootCertificate(grpc::ServerContext*, const api::Empty*,
                                  api::RootCertificate*) override;
  grpc::Status IssueNodeCertificate(grpc::ServerContext*, const api::IssueNodeCertificateRequest*,
                                    api::IssueNodeCertificateResponse*) override;
  grpc::Status RenewNodeCertificate(grpc::ServerContext*, const api::RenewNodeCertificateRequest*,
                                    api::IssueNodeCertificateResponse*) override;

 private:
  grpc::Status forward(const std::string& leader_addr,
                       const api::IssueNodeCertificateRequest& request,
                       api::IssueNodeCertificateResponse& response) const;
  grpc::Status issue(const ManagerContext& held, const api::IssueNodeCertificateRequest& request,
                     api::IssueNodeCertificateResponse& response, pki::NodeRole& role) const;
  using AddManager = decltype(ControlHooks::add_manager);
  // A manager's settings and etcd member, after its certificate was signed.
  grpc::Status finish_manager(std::shared_ptr<const ManagerContext> held,
                              const std::string& node_id, const std::string& addr,
                              api::IssueNodeCertificateResponse& response);
  grpc::Status add_manager(const AddManager& add, const std::string& node_id,
                           const std::string& addr, api::IssueNodeCertificateResponse& response);

  ManagerSource source_;
  std::string ca_cert_pem_;
};

// Creates the node object a certificate names (shared by init and join).
Status register_node(ManagerRuntime& manager, const std::string& node_id,
                     const std::string& hostname, Ipv4 addr, pki::NodeRole role);

}  // namespace shoal::daemon
