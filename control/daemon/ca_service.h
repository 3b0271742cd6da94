// The Ca API: the one service reachable without a certificate. A joining node fetches the root
// certificate (and checks its digest against its token before trusting it), then presents the
// token with a CSR; a valid token makes it a node of the store and gets it a certificate naming
// its new node id and role.
#pragma once

#include "control/daemon/cluster_secrets.h"
#include "control/daemon/manager_runtime.h"
#include "swarm.grpc.pb.h"

namespace shoal::daemon {

class CaService final : public api::Ca::Service {
 public:
  CaService(ManagerRuntime& manager, const ClusterSecrets& secrets)
      : manager_(manager), secrets_(secrets) {}

  grpc::Status GetRootCertificate(grpc::ServerContext*, const api::Empty*,
                                  api::RootCertificate*) override;
  grpc::Status IssueNodeCertificate(grpc::ServerContext*, const api::IssueNodeCertificateRequest*,
                                    api::IssueNodeCertificateResponse*) override;

 private:
  ManagerRuntime& manager_;
  const ClusterSecrets& secrets_;
};

// Creates the node object a certificate names (shared by init and join).
Status register_node(ManagerRuntime& manager, const std::string& node_id,
                     const std::string& hostname, Ipv4 addr, pki::NodeRole role);

}  // namespace shoal::daemon
