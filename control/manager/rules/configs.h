// Rules for configs (Docker's `docker config`) that the control API applies before it writes:
// a config's name and size, a service's config references, and which services hold a config
// (a config in use cannot be removed).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

// Docker's rule: 1-64 characters of [A-Za-z0-9-_.], starting and ending alphanumeric; data at
// most 500 KiB.
Status validate_config(const Config& config);

// Targets absolute, normalised (no "." or ".." parts, no trailing '/'), not "/", unique within
// the service; mode at most 0777.
Status validate_config_references(const std::vector<ConfigReference>& refs);

// Names of the services whose spec references the config, in name order.
std::vector<std::string> services_using_config(const ReadTx& tx, const std::string& config_id);

}  // namespace shoal::manager
