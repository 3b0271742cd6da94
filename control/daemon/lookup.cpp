#include "control/daemon/lookup.h"

namespace shoal::daemon {
namespace {

// One rule for every kind: exact id, then name, then the only id starting with ref.
template <typename T, typename NameOf>
std::optional<T> find(std::vector<T> all, const std::string& ref, NameOf name_of) {
  if (ref.empty()) {
    return std::nullopt;
  }
  for (auto& object : all) {
    if (object.id == ref) {
      return std::move(object);
    }
  }
  for (auto& object : all) {
    if (name_of(object) == ref) {
      return std::move(object);
    }
  }
  std::optional<T> match;
  for (auto& object : all) {
    if (object.id.starts_with(ref)) {
      if (match) {
        return std::nullopt;  // ambiguous
      }
      match = std::move(object);
    }
  }
  return match;
}

}  // namespace

std::optional<manager::Node> find_node(const manager::ReadTx& tx, const std::string& ref) {
  return find(tx.nodes(), ref, [](const manager::Node& n) { return n.hostname; });
}

std::optional<manager::Network> find_network(const manager::ReadTx& tx, const std::string& ref) {
  return find(tx.networks(), ref, [](const manager::Network& n) { return n.name; });
}

std::optional<manager::Service> find_service(const manager::ReadTx& tx, const std::string& ref) {
  return find(tx.services(), ref, [](const manager::Service& s) { return s.spec.name; });
}

std::optional<manager::Config> find_config(const manager::ReadTx& tx, const std::string& ref) {
  return find(tx.configs(), ref, [](const manager::Config& c) { return c.name; });
}

}  // namespace shoal::daemon
