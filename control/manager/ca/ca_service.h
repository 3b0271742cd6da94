// The Ca API: the one service reachable without a certificate. A joining node fetches the root
// certificate (and checks its digest against its token before trusting it), then presents the
// token with a CSR; a valid token makes it a node of the store and gets it a certificate naming
// its new node id and role. Only the leader signs (it holds the CA key and writes the node);
// another manager forwards the request to it. A manager token also gets the new manager an etcd
// member (ControlHooks::add_manager) and the cluster list it starts with.
//
// What a join fixes about a node: its hostname (RFC 1123, common/hostname.h) and its address,
// which must be the address the join came from, so that no node can point the swarm's overlay
// peers, gossip and certificates at a machine it does not own. A manager forwarding a join
// passes the joiner's address along (kForwardedPeerMetadata), and only a caller holding a
// manager certificate is believed when it does. Failed joins are rate-limited per source and
// their log lines throttled (join_limiter.h).
#pragma once

#include "control/manager/access/join_limiter.h"
#include "control/manager/ca/cluster_secrets.h"
#include "control/manager/control_api/control_service.h"
#include "control/manager/loop/manager_runtime.h"
#include "swarm.grpc.pb.h"

namespace shoal::manager {

// The joining node's address, sent by a manager that forwards a join to the leader.
inline constexpr const char* kForwardedPeerMetadata = "shoal-forwarded-peer";

class CaService final : public api::Ca::Service {
 public:
  // `roots`: the roots this node trusts (its state dir's), what GetRootCertificate answers when
  // this manager does not lead; the leader answers from the cluster secrets.
  using RootSource = std::function<std::string()>;
  CaService(ManagerSource source, RootSource roots, JoinLimits limits = {})
      : source_(std::move(source)), roots_(std::move(roots)), limiter_(limits) {}
  CaService(ManagerSource source, std::string ca_cert_pem, JoinLimits limits = {})
      : CaService(
            std::move(source), [pem = std::move(ca_cert_pem)] { return pem; }, limits) {}

  grpc::Status GetRootCertificate(grpc::ServerContext*, const api::Empty*,
                                  api::RootCertificate*) override;
  grpc::Status IssueNodeCertificate(grpc::ServerContext*, const api::IssueNodeCertificateRequest*,
                                    api::IssueNodeCertificateResponse*) override;
  grpc::Status RenewNodeCertificate(grpc::ServerContext*, const api::RenewNodeCertificateRequest*,
                                    api::IssueNodeCertificateResponse*) override;

  // A join as it arrived from `source` (the joiner's IP address, "" when unknown), `forwarded`
  // when another manager passed it on. IssueNodeCertificate finds both and calls this.
  grpc::Status join(const std::string& source, bool forwarded,
                    const api::IssueNodeCertificateRequest& request,
                    api::IssueNodeCertificateResponse& response);

 private:
  // The joiner's address: the one a forwarding manager names, else the connection's peer.
  static std::string joining_source(const grpc::ServerContext& context, bool& forwarded);
  grpc::Status forward(const ManagerContext& held, const std::string& source,
                       const api::IssueNodeCertificateRequest& request,
                       api::IssueNodeCertificateResponse& response) const;
  grpc::Status issue(const ManagerContext& held, const std::string& source,
                     const api::IssueNodeCertificateRequest& request,
                     api::IssueNodeCertificateResponse& response, pki::NodeRole& role) const;
  void log_refusal(const std::string& source, const std::string& why);
  // A manager's settings and etcd member, after its certificate was signed.
  grpc::Status finish_manager(std::shared_ptr<const ManagerContext> held,
                              const std::string& node_id, const std::string& addr,
                              api::IssueNodeCertificateResponse& response);
  grpc::Status add_manager(ControlHooks& hooks, const std::string& node_id, const std::string& addr,
                           api::IssueNodeCertificateResponse& response);

  ManagerSource source_;
  RootSource roots_;
  JoinLimiter limiter_;
  LogThrottle refusals_;
};

// Creates the node object a certificate names (shared by init and join). The hostname must be
// valid (common/hostname.h): init and join fail with the reason otherwise.
Status register_node(ManagerRuntime& manager, const std::string& node_id,
                     const std::string& hostname, Ipv4 addr, pki::NodeRole role);

}  // namespace shoal::manager
