// The config side of the Control API (Docker's `docker config`), beside control_service.cpp:
// resolving a service's config references, used by the service handlers there.
#pragma once

#include <grpcpp/support/status.h>

#include <vector>

#include "control/manager/store/store.h"

namespace shoal::manager {

// Each reference names its config by id, name or id prefix (config_id, else config_name); on
// success both are filled in, target defaults to /<name> and mode to 0444.
grpc::Status resolve_config_references(const manager::ReadTx& tx,
                                       std::vector<manager::ConfigReference>& refs);

}  // namespace shoal::manager
