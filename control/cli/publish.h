// `--publish` values, in docker's two forms:
//   short: [PUBLISHED:]TARGET[/PROTOCOL]               "8080:80", "53:53/udp", "80"
//   long:  published=P,target=T[,protocol=tcp|udp|sctp][,mode=ingress|host]
// A missing published port is 0: the manager picks one from 30000-32767.
#pragma once

#include <string_view>

#include "common/result.h"
#include "swarm.pb.h"

namespace shoal::cli {

Result<api::PortConfig> parse_publish(std::string_view text);

}  // namespace shoal::cli
