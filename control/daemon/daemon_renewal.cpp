// The node's side of certificate renewal (cert_renewal.h decides when): a new key and CSR, the
// Ca service's RenewNodeCertificate over the agent's channel to the leader (the role comes
// from the store there), and the new key and certificate written atomically into the state
// directory. Nothing restarts: every TLS user of the node watches those files (tls.h) and takes
// the new certificate for its next connection; connections made before keep going.
#include <spdlog/spdlog.h>

#include "control/daemon/daemon.h"

namespace shoal::daemon {

using namespace std::chrono_literals;

namespace {
constexpr auto kRenewDeadline = 30s;
}  // namespace

pki::NodeFiles Daemon::watched(const pki::NodeFiles& files) const {
  pki::NodeFiles watched = files;
  watched.watch_dir = options_.state_dir;
  return watched;
}

Result<pki::Validity> Daemon::current_certificate() {
  SHOAL_ASSIGN_OR_RETURN(auto files, pki::load_node_files(options_.state_dir));
  return pki::validity_of(files.node_cert_pem);
}

Status Daemon::renew_certificate() {
  std::shared_ptr<grpc::Channel> channel;
  std::string role;
  {
    std::lock_guard lock(mutex_);
    if (!state_ || !session_)
      return Error{.op = "renew", .object = "node certificate", .detail = "not in a swarm"};
    channel = session_->manager_channel();
    role = state_->role;
  }
  SHOAL_ASSIGN_OR_RETURN(auto before, pki::load_node_files(options_.state_dir));
  SHOAL_ASSIGN_OR_RETURN(auto key, pki::make_key_and_csr());
  api::RenewNodeCertificateRequest request;
  request.set_csr_pem(key.csr_pem);
  api::IssueNodeCertificateResponse issued;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRenewDeadline);
  auto status = api::Ca::NewStub(channel)->RenewNodeCertificate(&context, request, &issued);
  if (!status.ok()) {
    return Error{.op = "renew", .object = "node certificate", .detail = status.error_message()};
  }
  if (issued.role() != role) {
    // The store says another role: the role change (daemon_role.cpp) renews, and restarts.
    return Error{.op = "renew",
                 .object = "node certificate",
                 .detail = "this node becomes a " + issued.role() + "; its role change renews"};
  }
  SHOAL_TRY(pki::verify_issued_by(issued.cert_pem(), before.ca_cert_pem));
  std::lock_guard lock(mutex_);
  SHOAL_ASSIGN_OR_RETURN(auto files, pki::load_node_files(options_.state_dir));
  if (!state_ || state_->role != role || files.node_cert_pem != before.node_cert_pem) {
    return {};  // left, or a role change replaced the certificate meanwhile: nothing to do
  }
  files.node_cert_pem = issued.cert_pem();
  files.node_key_pem = key.key_pem;
  SHOAL_TRY(pki::save_node_files(options_.state_dir, files));
  auto validity = pki::validity_of(files.node_cert_pem);
  spdlog::info("node certificate renewed{}", validity.ok() ? "" : " (its validity unreadable)");
  return {};
}

}  // namespace shoal::daemon
