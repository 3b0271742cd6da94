// Checks a service spec or a network before it is written, so bad input is refused with one
// clear line and changes nothing (the control API calls these; the allocator still checks what
// only it can know, such as overlaps and ports in use).
//
// Names follow swarmkit: a DNS label of 1-63 letters, digits, '-' and '_', starting and ending
// with a letter or digit, since a service's name is what tasks resolve it by.
#pragma once

#include <string_view>

#include "common/result.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

Status validate_name(std::string_view what, std::string_view name);
Status validate_service_spec(const ServiceSpec& spec);
// Each alias a valid name (as a service's), not twice on one network, and only on networks the
// service is on. `object` names the service in the error ("service web").
Status validate_network_aliases(const std::string& object, const ServiceSpec& spec);

// "spread=node.labels.zone" -> "zone": the only placement preference Docker has.
Result<std::string> spread_label(std::string_view preference);
Status validate_network(const Network& network);

}  // namespace shoal::manager
