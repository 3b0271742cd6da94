// The manager's record of each node's certificate: when the one the CA signed last (at join,
// at renewal) is valid, kept on the node's store object so that `node inspect` shows its
// expiry and `node ls` marks nodes whose certificate is about to expire or has expired (a node
// that cannot renew: cut off from the managers, or removed).
#pragma once

#include <string>

#include "common/result.h"
#include "control/manager/loop/manager_runtime.h"

namespace shoal::daemon {

// Reads the validity of `cert_pem`, just signed for `node_id` by the root whose fingerprint is
// `issuer`, into the node's store object. A failure is logged, not returned: the certificate is
// valid whether recorded or not.
void record_certificate(ManagerRuntime& manager, const std::string& node_id,
                        const std::string& cert_pem, const std::string& issuer);

}  // namespace shoal::daemon
