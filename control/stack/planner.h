// What `stack deploy` and `stack rm` must do: the swarm's objects against a StackSpec, as lists
// of creations, updates and removals. Pure, so redeploying the same file is shown to change
// nothing and a changed file to touch only what changed.
//
// Services are compared by a digest of the spec the stack sent (label kSpecDigestLabel), not
// field by field against what the manager stores (which fills in defaults): a service changed
// by hand with `service update` is therefore not reset by deploying the same file again.
// Networks are never updated (as docker); a changed one is reported. Configs are immutable (as
// docker): changed data is an error.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/stack/stack_spec.h"

namespace shoal::stack {

inline constexpr const char* kSpecDigestLabel = "com.shoal.stack.spec-digest";

// Every service, network and config of the swarm (configs with their data).
struct SwarmObjects {
  std::vector<api::Service> services;
  std::vector<api::Network> networks;
  std::vector<api::Config> configs;
};

struct ServiceUpdate {
  std::string id;
  uint64_t version = 0;
  api::ServiceSpec spec;
};

struct Removal {
  std::string id;
  std::string name;
};

struct Plan {
  std::vector<StackNetwork> create_networks;
  std::vector<StackConfig> create_configs;
  std::vector<api::ServiceSpec> create_services;  // with the digest label
  std::vector<ServiceUpdate> update_services;
  std::vector<Removal> remove_services;
  std::vector<Removal> remove_configs;
  std::vector<Removal> remove_networks;
  std::vector<std::string> unchanged_services;  // names
  std::vector<std::string> warnings;
  std::vector<std::string> errors;  // nothing may be done when there is one
};

// `config_data`: the content of each non-external config, by full name.
// `prune`: also remove the stack's services, configs and networks the file no longer names
// (docker's --prune; without it they stay).
Plan plan_deploy(const StackSpec& desired, const std::map<std::string, std::string>& config_data,
                 const SwarmObjects& swarm, bool prune);
// Every object labelled with the stack's namespace, services first.
Plan plan_remove(const std::string& stack, const SwarmObjects& swarm);

// FNV-1a 64 of the spec's deterministic serialisation, as 16 hex digits.
std::string spec_digest(const api::ServiceSpec& spec);

bool in_stack(const google::protobuf::Map<std::string, std::string>& labels,
              const std::string& stack);

}  // namespace shoal::stack
