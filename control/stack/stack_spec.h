// What a compose file asks for, as a stack (Docker's `docker stack deploy`): services,
// networks and configs with their full names (NAME_key) and the stack's namespace label, ready
// to be compared with what the swarm holds (planner.h) and sent over the Control API.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "swarm.pb.h"

namespace shoal::stack {

// Docker's label: every object of a stack carries it, with the stack's name as value.
inline constexpr const char* kNamespaceLabel = "com.docker.stack.namespace";

using Labels = std::map<std::string, std::string>;

struct StackNetwork {
  std::string key;   // as the compose file names it
  std::string name;  // NAME_key, or the external network's own name
  bool external = false;
  std::string driver = "overlay";
  bool attachable = false;
  std::string subnet;  // CIDR; empty: from the pool
  Labels labels;       // with the namespace label

  friend bool operator==(const StackNetwork&, const StackNetwork&) = default;
};

struct StackConfig {
  std::string key;
  std::string name;  // NAME_key, or the external config's own name
  bool external = false;
  std::string file;  // path of the content (relative ones resolved against the compose file)
  Labels labels;
};

struct StackService {
  std::string key;
  // Name NAME_key; networks and configs by full name (the manager resolves names); labels
  // with the namespace label.
  api::ServiceSpec spec;
};

struct StackSpec {
  std::string name;
  std::vector<StackService> services;
  std::vector<StackNetwork> networks;  // those the services use, external ones included
  std::vector<StackConfig> configs;    // those the services use, external ones included
};

}  // namespace shoal::stack
