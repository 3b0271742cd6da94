#include "control/manager/access/cert_status.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "control/pki/identity.h"

namespace shoal::daemon {

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
    node->cert_not_before = unix_seconds(validity->not_before);
    node->cert_not_after = unix_seconds(validity->not_after);
    node->cert_issuer = issuer;
    return tx.update(*node);
  });
  if (!recorded.ok())
    spdlog::warn("node {}: recording its certificate's expiry: {}", node_id,
                 recorded.error().message());
}

}  // namespace shoal::daemon
