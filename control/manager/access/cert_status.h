// The manager's record of each node's certificate: when the one the CA signed last (at join,
// at renewal) is valid, kept on the node's store object so that `node inspect` shows its
// expiry and `node ls` marks nodes whose certificate is about to expire or has expired (a node
// that cannot renew: cut off from the managers, or removed).
#pragma once

#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/result.h"
#include "control/manager/loop/manager_runtime.h"

namespace shoal::manager {

// Reads the validity of `cert_pem`, just signed for `node_id` by the root whose fingerprint is
// `issuer`, into the node's store object. A failure is logged, not returned: the certificate is
// valid whether recorded or not.
void record_certificate(ManagerRuntime& manager, const std::string& node_id,
                        const std::string& cert_pem, const std::string& issuer);

// How long a replaced certificate still counts: a minute, or a tenth of the certificates'
// lifetime when that is shorter (one-minute test certificates). The node reconnects with the new
// one within two seconds of saving it (tls.h's watcher, then AgentSession::reconnect).
inline constexpr int64_t kReplacedCertificateGraceSeconds = 60;

// Whether the certificate with `serial` still counts for `node` at `now` (unix seconds): the one
// the CA signed last, or the one before during the grace. A node recorded before revocation
// existed (no serial) keeps any. The rule of revocation for replaced certificates (#18).
bool certificate_counts(const manager::Node& node, const std::string& serial, int64_t now);

// Records that the CA signed `serial` for `node` at `now`: the current certificate becomes the
// previous one (its grace starts), and the previous one joins the revoked.
void note_replacement(manager::Node& node, const std::string& serial, int64_t now);

// The serials etcd's revocation list names at `now` (sorted, once each): every node's older
// replaced certificates and its previous one past the grace, while still valid. etcd cannot ask
// the store who is current; it reads this list at each new connection instead
// (ManagerNode::publish_revocations). A certificate never recorded (minted with a stolen CA key)
// is not in it: root rotation is the remedy there.
std::vector<std::string> serials_to_revoke(const std::vector<manager::Node>& nodes, int64_t now);

// The same for a caller: PERMISSION_DENIED naming the node when its certificate was replaced.
grpc::Status require_current_certificate(const grpc::ServerContext& context,
                                         const manager::Node& node);

}  // namespace shoal::manager
