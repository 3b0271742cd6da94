#include "control/manager/access/cert_status.h"

#include <grpcpp/security/auth_context.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "control/pki/identity.h"

namespace shoal::manager {

namespace {

int64_t unix_seconds(std::chrono::system_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

}  // namespace

void record_certificate(ManagerRuntime& manager, const std::string& node_id,
                        const std::string& cert_pem, const std::string& issuer) {
  auto validity = pki::validity_of(cert_pem);
  if (!validity.ok()) {
    spdlog::warn("node {}: certificate validity unreadable: {}", node_id,
                 validity.error().message());
    return;
  }
  auto recorded = manager.store().update([&](manager::WriteTx& tx) -> Status {
    auto node = tx.get_node(node_id);
    if (!node)
      return {};  // removed meanwhile
    const int64_t now = unix_seconds(std::chrono::system_clock::now());
    if (auto serial = pki::serial_of(cert_pem); serial.ok() && *serial != node->cert_serial)
      note_replacement(*node, *serial, now);
    node->cert_not_before = unix_seconds(validity->not_before);
    node->cert_not_after = unix_seconds(validity->not_after);
    node->cert_issuer = issuer;
    std::erase_if(node->revoked_cert_serials,
                  [now](const auto& revoked) { return revoked.second <= now; });
    return tx.update(*node);
  });
  if (!recorded.ok())
    spdlog::warn("node {}: recording its certificate's expiry: {}", node_id,
                 recorded.error().message());
}

void note_replacement(manager::Node& node, const std::string& serial, int64_t now) {
  if (!node.previous_cert_serial.empty())
    node.revoked_cert_serials[node.previous_cert_serial] = node.previous_cert_not_after;
  node.previous_cert_serial = node.cert_serial;
  node.previous_cert_not_after = node.cert_not_after;
  node.cert_replaced_at = now;
  node.cert_serial = serial;
}

int64_t replaced_grace_seconds(const manager::Node& node) {
  const int64_t lifetime = node.cert_not_after - node.cert_not_before;
  return lifetime > 0 ? std::min(kReplacedCertificateGraceSeconds, lifetime / 10)
                      : kReplacedCertificateGraceSeconds;
}

bool certificate_counts(const manager::Node& node, const std::string& serial, int64_t now) {
  if (node.cert_serial.empty() || serial == node.cert_serial)
    return true;
  return !node.previous_cert_serial.empty() && serial == node.previous_cert_serial &&
         now < node.cert_replaced_at + replaced_grace_seconds(node);
}

std::vector<std::string> serials_to_revoke(const std::vector<manager::Node>& nodes, int64_t now) {
  std::vector<std::string> serials;
  for (const auto& node : nodes) {
    for (const auto& [serial, not_after] : node.revoked_cert_serials) {
      if (not_after > now)
        serials.push_back(serial);
    }
    const bool past_grace = now >= node.cert_replaced_at + replaced_grace_seconds(node);
    if (!node.previous_cert_serial.empty() && past_grace && node.previous_cert_not_after > now)
      serials.push_back(node.previous_cert_serial);
  }
  std::sort(serials.begin(), serials.end());
  serials.erase(std::unique(serials.begin(), serials.end()), serials.end());
  return serials;
}

grpc::Status require_current_certificate(const grpc::ServerContext& context,
                                         const manager::Node& node) {
  auto auth = context.auth_context();
  auto pems = auth ? auth->FindPropertyValues("x509_pem_cert") : std::vector<grpc::string_ref>{};
  if (pems.empty())
    return grpc::Status::OK;  // no certificate: the CLI socket (the caller's rules say more)
  auto serial = pki::serial_of(std::string_view(pems.front().data(), pems.front().size()));
  if (serial.ok() &&
      certificate_counts(node, *serial, unix_seconds(std::chrono::system_clock::now()))) {
    return grpc::Status::OK;
  }
  return {grpc::StatusCode::PERMISSION_DENIED,
          "this certificate of node " + node.id +
              " is not the one the CA signed for it last (replaced by a newer one, or never "
              "issued): it is revoked"};
}

}  // namespace shoal::manager
