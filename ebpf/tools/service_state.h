// The desired load-balancer state of one node, as `shoal-lb apply` reads it from JSON:
// {"services": [{"id", "frontends": [{"vip", "port", "protocol"?, "target_port"?}],
//                "backends": [{"ip", "weight"?, "draining"?}],
//                "published": [{"port", "protocol"?, "target_port"?, "preserve_source"?}],
//                "ingress_backends": [{"ip", "weight"?, "draining"?}]}]}
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/lb/load_balancer.h"

namespace shoal::ebpf {

Result<std::vector<lb::Service>> parse_services(const std::string& json_text);

}  // namespace shoal::ebpf
