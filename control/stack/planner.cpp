#include "control/stack/planner.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstdio>

namespace shoal::stack {
namespace {

template <typename T, typename NameOf>
const T* find_by_name(const std::vector<T>& all, const std::string& name, NameOf name_of) {
  for (const auto& object : all) {
    if (name_of(object) == name)
      return &object;
  }
  return nullptr;
}

const std::string& network_name(const api::Network& n) {
  return n.name();
}
const std::string& config_name(const api::Config& c) {
  return c.name();
}
const std::string& service_name(const api::Service& s) {
  return s.spec().name();
}

void plan_network(const StackNetwork& wanted, const SwarmObjects& swarm, const std::string& stack,
                  Plan& plan) {
  const api::Network* have = find_by_name(swarm.networks, wanted.name, network_name);
  if (wanted.external) {
    if (!have)
      plan.errors.push_back("network \"" + wanted.name +
                            "\" is declared as external, but could not be found");
    return;
  }
  if (!have) {
    plan.create_networks.push_back(wanted);
    return;
  }
  if (!in_stack(have->labels(), stack)) {
    plan.errors.push_back("network \"" + wanted.name + "\" exists and is not part of stack " +
                          stack);
    return;
  }
  const bool differs = have->attachable() != wanted.attachable ||
                       (!wanted.subnet.empty() && have->subnet() != wanted.subnet);
  if (differs) {
    plan.warnings.push_back("network \"" + wanted.name +
                            "\" differs from the file and is left as it is (networks are not "
                            "updated; remove the stack to recreate it)");
  }
}

void plan_config(const StackConfig& wanted, const std::map<std::string, std::string>& data,
                 const SwarmObjects& swarm, const std::string& stack, Plan& plan) {
  const api::Config* have = find_by_name(swarm.configs, wanted.name, config_name);
  if (wanted.external) {
    if (!have)
      plan.errors.push_back("config \"" + wanted.name +
                            "\" is declared as external, but could not be found");
    return;
  }
  auto content = data.find(wanted.name);
  if (content == data.end()) {
    plan.errors.push_back("config \"" + wanted.name + "\": no content read from " + wanted.file);
    return;
  }
  if (!have) {
    plan.create_configs.push_back(wanted);
    return;
  }
  if (!in_stack(have->labels(), stack)) {
    plan.errors.push_back("config \"" + wanted.name + "\" exists and is not part of stack " +
                          stack);
  } else if (have->data() != content->second) {
    // Docker's rule too: a config's data never changes; a new name makes a new config.
    plan.errors.push_back("config \"" + wanted.name + "\" exists with other data: configs " +
                          "cannot be changed (give it a new name, or remove the stack first)");
  }
}

void plan_service(const StackService& wanted, const SwarmObjects& swarm, const std::string& stack,
                  Plan& plan) {
  api::ServiceSpec spec = wanted.spec;
  (*spec.mutable_labels())[kSpecDigestLabel] = spec_digest(wanted.spec);
  const api::Service* have = find_by_name(swarm.services, spec.name(), service_name);
  if (!have) {
    plan.create_services.push_back(std::move(spec));
    return;
  }
  if (!in_stack(have->spec().labels(), stack)) {
    plan.errors.push_back("service \"" + spec.name() + "\" exists and is not part of stack " +
                          stack);
    return;
  }
  auto digest = have->spec().labels().find(kSpecDigestLabel);
  if (digest != have->spec().labels().end() &&
      digest->second == spec.labels().at(kSpecDigestLabel)) {
    plan.unchanged_services.push_back(spec.name());
    return;
  }
  plan.update_services.push_back({have->id(), have->version(), std::move(spec)});
}

}  // namespace

bool in_stack(const google::protobuf::Map<std::string, std::string>& labels,
              const std::string& stack) {
  auto it = labels.find(kNamespaceLabel);
  return it != labels.end() && it->second == stack;
}

std::string spec_digest(const api::ServiceSpec& spec) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // map fields in key order
    spec.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

Plan plan_deploy(const StackSpec& desired, const std::map<std::string, std::string>& config_data,
                 const SwarmObjects& swarm, bool prune) {
  Plan plan;
  for (const auto& network : desired.networks)
    plan_network(network, swarm, desired.name, plan);
  for (const auto& config : desired.configs)
    plan_config(config, config_data, swarm, desired.name, plan);
  for (const auto& service : desired.services)
    plan_service(service, swarm, desired.name, plan);
  if (!prune)
    return plan;
  auto wanted = [](const auto& list, const std::string& name, auto name_of) {
    for (const auto& item : list) {
      if (name_of(item) == name)
        return true;
    }
    return false;
  };
  for (const auto& service : swarm.services) {
    if (in_stack(service.spec().labels(), desired.name) &&
        !wanted(desired.services, service.spec().name(),
                [](const StackService& s) { return s.spec.name(); })) {
      plan.remove_services.push_back({service.id(), service.spec().name()});
    }
  }
  for (const auto& config : swarm.configs) {
    if (in_stack(config.labels(), desired.name) &&
        !wanted(desired.configs, config.name(), [](const StackConfig& c) { return c.name; })) {
      plan.remove_configs.push_back({config.id(), config.name()});
    }
  }
  for (const auto& network : swarm.networks) {
    if (in_stack(network.labels(), desired.name) &&
        !wanted(desired.networks, network.name(), [](const StackNetwork& n) { return n.name; })) {
      plan.remove_networks.push_back({network.id(), network.name()});
    }
  }
  return plan;
}

Plan plan_remove(const std::string& stack, const SwarmObjects& swarm) {
  Plan plan;
  for (const auto& service : swarm.services) {
    if (in_stack(service.spec().labels(), stack))
      plan.remove_services.push_back({service.id(), service.spec().name()});
  }
  for (const auto& config : swarm.configs) {
    if (in_stack(config.labels(), stack))
      plan.remove_configs.push_back({config.id(), config.name()});
  }
  for (const auto& network : swarm.networks) {
    if (in_stack(network.labels(), stack))
      plan.remove_networks.push_back({network.id(), network.name()});
  }
  return plan;
}

}  // namespace shoal::stack
