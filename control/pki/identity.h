// Who a node is, as its certificate says: node id (CN), role (OU) and cluster id (O).
//
// gRPC hands a peer's certificate over as PEM, so everything here takes and returns PEM.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace shoal::pki {

// Kept independent of control/manager's node types so the PKI builds on its own.
enum class NodeRole { kWorker, kManager };

// "swarm-worker" / "swarm-manager": the OU written into node certificates (Docker's names).
std::string_view to_ou(NodeRole role);

struct NodeIdentity {
  std::string node_id;
  NodeRole role = NodeRole::kWorker;
  std::string cluster_id;

  bool operator==(const NodeIdentity&) const = default;
};

// The TLS name clients use to reach any manager; every manager certificate carries it as a SAN.
inline constexpr std::string_view kManagerTlsName = "swarm-manager";

// Reads CN/OU/O from a certificate. It does NOT check who signed it: call it on a certificate
// that the TLS handshake (or verify_issued_by) has already verified.
Result<NodeIdentity> identity_of(std::string_view cert_pem);

// When a certificate may be used: notBefore and notAfter, to the second.
struct Validity {
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;

  bool operator==(const Validity&) const = default;
};

// Reads notBefore/notAfter (no signature check, like identity_of).
Result<Validity> validity_of(std::string_view cert_pem);

// The serial number in lowercase hex (no signature check): which of a node's certificates this is.
Result<std::string> serial_of(std::string_view cert_pem);

// Verifies that `cert_pem` is a node (non-CA) certificate that chains to a root of
// `ca_cert_pem` and is valid now. `cert_pem` may go on with intermediates (during a root
// rotation: the new root cross-signed by the old one) and `ca_cert_pem` may hold several roots
// (the old and the new one while the swarm moves).
Status verify_issued_by(std::string_view cert_pem, std::string_view ca_cert_pem);

// Whether the first certificate of `cert_pem` was signed by the key of `root_pem` itself (not
// through an intermediate): during a root rotation a node whose certificate is not is still to
// move. False for anything unreadable.
bool signed_directly_by(std::string_view cert_pem, std::string_view root_pem);

struct KeyAndCsr {
  std::string key_pem;  // unencrypted PKCS#8 P-256 key; stays on the node
  std::string csr_pem;  // sent to a manager; its subject is a placeholder the CA ignores
};

// A fresh P-256 key and a certificate signing request signed with it.
Result<KeyAndCsr> make_key_and_csr();

}  // namespace shoal::pki
