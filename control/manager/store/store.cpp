#include "control/manager/store/store.h"

namespace shoal::manager {

const std::string& object_id(const Object& object) {
  return std::visit([](const auto& value) -> const std::string& { return value.id; }, object);
}

std::string_view object_kind(const Object& object) {
  switch (object.index()) {
    case 0:
      return "node";
    case 1:
      return "network";
    case 2:
      return "service";
    case 3:
      return "task";
    default:
      return "config";
  }
}

std::vector<Task> ReadTx::tasks_of_service(const std::string& service_id) const {
  std::vector<Task> out;
  for (auto& task : tasks()) {
    if (task.service_id == service_id) {
      out.push_back(std::move(task));
    }
  }
  return out;
}

std::optional<Network> ReadTx::network_by_name(const std::string& name) const {
  for (auto& network : networks()) {
    if (network.name == name) {
      return std::move(network);
    }
  }
  return std::nullopt;
}

std::optional<Service> ReadTx::service_by_name(const std::string& name) const {
  for (auto& service : services()) {
    if (service.spec.name == name) {
      return std::move(service);
    }
  }
  return std::nullopt;
}

std::optional<Config> ReadTx::config_by_name(const std::string& name) const {
  for (auto& config : configs()) {
    if (config.name == name) {
      return std::move(config);
    }
  }
  return std::nullopt;
}

}  // namespace shoal::manager
