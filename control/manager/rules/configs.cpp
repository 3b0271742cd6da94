#include "control/manager/rules/configs.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace shoal::manager {
namespace {

bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

Status validate_target(const std::string& target) {
  const std::string object = "config target \"" + target + "\"";
  if (target.empty() || target.front() != '/') {
    return invalid_argument(object, "must be an absolute path");
  }
  if (target == "/" || target.back() == '/') {
    return invalid_argument(object, "must name a file");
  }
  size_t start = 1;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string::npos)
      end = target.size();
    std::string_view part(target.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return invalid_argument(object, "must not hold empty, \".\" or \"..\" parts");
    }
    start = end + 1;
  }
  return {};
}

}  // namespace

Status validate_config(const Config& config) {
  const std::string object = "config name \"" + config.name + "\"";
  if (config.name.empty()) {
    return invalid_argument("config name", "is empty");
  }
  if (config.name.size() > 64) {
    return invalid_argument(object, "is longer than 64 characters");
  }
  for (char c : config.name) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') {
      return invalid_argument(object, "may hold only letters, digits, '-', '_' and '.'");
    }
  }
  if (!alnum(config.name.front()) || !alnum(config.name.back())) {
    return invalid_argument(object, "must start and end with a letter or digit");
  }
  if (config.data.size() > kMaxConfigSize) {
    return invalid_argument(
        "config " + config.name,
        "data is " + std::to_string(config.data.size()) + " bytes, more than the limit of 500 KiB");
  }
  return {};
}

Status validate_config_references(const std::vector<ConfigReference>& refs) {
  std::set<std::string> targets;
  for (const auto& ref : refs) {
    SHOAL_TRY(validate_target(ref.target));
    if (ref.mode > 0777) {
      return invalid_argument("config " + ref.config_name, "mode is more than 0777");
    }
    if (!targets.insert(ref.target).second) {
      return invalid_argument("config target \"" + ref.target + "\"", "is used twice");
    }
  }
  return {};
}

std::vector<std::string> services_using_config(const ReadTx& tx, const std::string& config_id) {
  std::vector<std::string> names;
  for (const auto& service : tx.services()) {
    bool uses = std::any_of(service.spec.configs.begin(), service.spec.configs.end(),
                            [&](const ConfigReference& r) { return r.config_id == config_id; });
    if (uses)
      names.push_back(service.spec.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace shoal::manager
