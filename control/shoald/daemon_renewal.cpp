// The node's side of certificate renewal (cert_renewal.h decides when): a new key and CSR, the
// Ca service's RenewNodeCertificate over the agent's channel to the leader (the role comes
// from the store there), and the new key and certificate written atomically into the state
// directory. Nothing restarts: every TLS user of the node watches those files (tls.h) and takes
// the new certificate for its next connection; connections made before keep going.
#include <spdlog/spdlog.h>

#include <set>
#include <string_view>
#include <thread>

#include "control/api/tls.h"
#include "control/shoald/daemon.h"

namespace shoal::shoald {

using namespace std::chrono_literals;

namespace {

constexpr auto kRenewDeadline = 30s;

// The certificates of a PEM bundle, each as its text: Shoal writes them, so one root is always
// the same text.
std::set<std::string> pem_blocks(const std::string& bundle) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  std::set<std::string> blocks;
  for (size_t at = bundle.find(kBegin); at != std::string::npos;) {
    const size_t next = bundle.find(kBegin, at + kBegin.size());
    blocks.insert(bundle.substr(at, next == std::string::npos ? std::string::npos : next - at));
    at = next;
  }
  return blocks;
}

// Whether a root trusted in `before` is not in `after` (a rotation's end).
bool drops_a_root(const std::string& before, const std::string& after) {
  const auto kept = pem_blocks(after);
  for (const auto& root : pem_blocks(before)) {
    if (!kept.contains(root))
      return true;
  }
  return false;
}

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
  {
    std::lock_guard lock(mutex_);
    std::lock_guard files_lock(certificates_mutex_);
    SHOAL_ASSIGN_OR_RETURN(auto files, pki::load_node_files(options_.state_dir));
    if (!state_ || state_->role != role || files.node_cert_pem != before.node_cert_pem) {
      return {};  // left, or a role change replaced the certificate meanwhile: nothing to do
    }
    files.node_cert_pem = issued.cert_pem();
    files.node_key_pem = key.key_pem;
    SHOAL_TRY(pki::save_node_files(options_.state_dir, files));
    auto validity = pki::validity_of(files.node_cert_pem);
    spdlog::info("node certificate renewed{}", validity.ok() ? "" : " (its validity unreadable)");
  }
  reconnect_with_renewed_certificate();
  return {};
}

void Daemon::reconnect_with_renewed_certificate() {
  // Once every TLS user holds the new certificate, new connections present it; the replaced
  // one counts for a grace only (cert_status.h).
  std::this_thread::sleep_for(api::kCertificateFollowDelay);
  api::start_new_connections();
  std::lock_guard lock(mutex_);
  if (session_)
    session_->reconnect();
  std::lock_guard manager_lock(manager_mutex_);
  if (manager_)
    manager_->certificate_renewed();
}

bool Daemon::must_renew_now() {
  std::lock_guard lock(certificates_mutex_);
  if (signing_root_pem_.empty())
    return false;
  auto files = pki::load_node_files(options_.state_dir);
  return files.ok() && !pki::signed_directly_by(files->node_cert_pem, signing_root_pem_);
}

void Daemon::on_roots(const std::string& trusted_pem, const std::string& signing_pem) {
  bool dropped = false;
  bool must_move = false;
  {
    std::lock_guard lock(certificates_mutex_);
    signing_root_pem_ = signing_pem;
    auto files = pki::load_node_files(options_.state_dir);
    if (!files.ok()) {
      spdlog::warn("the swarm's roots: {}", files.error().message());
      return;
    }
    must_move = !pki::signed_directly_by(files->node_cert_pem, signing_pem);
    if (files->ca_cert_pem == trusted_pem)
      return;
    dropped = drops_a_root(files->ca_cert_pem, trusted_pem);
    files->ca_cert_pem = trusted_pem;
    if (auto saved = pki::save_node_files(options_.state_dir, *files); !saved.ok()) {
      spdlog::error("trusting the swarm's new roots: {}", saved.error().message());
      return;
    }
  }
  spdlog::info("the swarm's roots changed: this node trusts {} root(s) now{}",
               pem_blocks(trusted_pem).size(), dropped ? ", and no longer an old one" : "");
  if (must_move && renewal_)
    renewal_->wake();  // a certificate of the new root, now rather than at the next poll
  if (dropped) {       // gRPC follows the root file; etcd must restart to forget a root
    std::lock_guard lock(manager_mutex_);
    if (manager_) {
      if (auto trusted = manager_->trust_roots(trusted_pem); !trusted.ok())
        spdlog::error("etcd member trusting the new root: {}", trusted.error().message());
    }
  }
}

}  // namespace shoal::shoald
