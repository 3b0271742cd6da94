// Certificate revocation lists: what etcd is told of the node certificates a manager no longer
// takes (a node's replaced certificates, control/manager/access/cert_status.h). The manager port
// checks serials itself; etcd cannot ask the store, so it reads a CRL file instead, at every new
// connection. CertificateAuthority::revocation_list (ca.h) makes one; this reads one back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace shoal::pki {

// The serials (lowercase hex) a PEM CRL revokes, after checking that `issuer_pem`'s key signed
// it.
Result<std::vector<std::string>> revoked_serials(std::string_view crl_pem,
                                                 std::string_view issuer_pem);

}  // namespace shoal::pki
