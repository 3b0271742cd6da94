// `--publish` values, in docker's two forms:
//   short: [PUBLISHED:]TARGET[/PROTOCOL]               "8080:80", "53:53/udp", "80"
//   long:  published=P,target=T[,protocol=tcp|udp|sctp][,mode=ingress|host]
// A missing published port is 0: the manager picks one from 30000-32767.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"
#include "swarm.pb.h"

namespace shoal::cli {

Result<api::PortConfig> parse_publish(std::string_view text);

// `service update --publish-rm/--publish-add` on a spec's ports. A removal names a target port
// (TARGET[/PROTOCOL], as docker's), or a whole port in either form; it removes every port that
// matches. An added port replaces any port with the same published port, or with the same
// target and protocol. A removal that matches nothing is an error (a typo must not pass).
Status update_ports(api::ServiceSpec& spec, const std::vector<std::string>& add,
                    const std::vector<std::string>& remove);

}  // namespace shoal::cli
