// Finding an object the way the docker CLI lets users name it: by full id, by name, or by an
// unambiguous id prefix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/manager/store.h"

namespace shoal::daemon {

std::optional<manager::Node> find_node(const manager::ReadTx& tx, const std::string& ref);
std::optional<manager::Network> find_network(const manager::ReadTx& tx, const std::string& ref);
std::optional<manager::Service> find_service(const manager::ReadTx& tx, const std::string& ref);
std::optional<manager::Config> find_config(const manager::ReadTx& tx, const std::string& ref);

}  // namespace shoal::daemon
