#include "control/manager/control_api/lookup.h"

namespace shoal::manager {
namespace {

// One rule for every kind, Docker's (daemon/cluster/helpers.go): the exact id; else every
// object of that name; else every object whose id starts with ref. One match is the answer;
// several are ambiguous. An empty ref names nothing.
template <typename T, typename NameOf>
Found<T> find(const char* kind, std::vector<T> all, const std::string& ref, NameOf name_of) {
  if (ref.empty()) {
    return {kind, ref, 0, std::nullopt};
  }
  for (auto& object : all) {
    if (object.id == ref) {
      return {kind, ref, 1, std::move(object)};
    }
  }
  auto matching = [&](auto matches) {
    size_t count = 0;
    std::optional<T> match;
    for (auto& object : all) {
      if (matches(object)) {
        ++count;
        if (!match)
          match = object;
      }
    }
    return Found<T>(kind, ref, count, count == 1 ? std::move(match) : std::nullopt);
  };
  auto by_name = matching([&](const T& object) { return name_of(object) == ref; });
  if (by_name || by_name.ambiguous()) {
    return by_name;
  }
  return matching([&](const T& object) { return object.id.starts_with(ref); });
}

}  // namespace

Found<manager::Node> find_node(const manager::ReadTx& tx, const std::string& ref) {
  return find("node", tx.nodes(), ref, [](const manager::Node& n) { return n.hostname; });
}

Found<manager::Network> find_network(const manager::ReadTx& tx, const std::string& ref) {
  return find("network", tx.networks(), ref, [](const manager::Network& n) { return n.name; });
}

Found<manager::Service> find_service(const manager::ReadTx& tx, const std::string& ref) {
  return find("service", tx.services(), ref, [](const manager::Service& s) { return s.spec.name; });
}

Found<manager::Config> find_config(const manager::ReadTx& tx, const std::string& ref) {
  return find("config", tx.configs(), ref, [](const manager::Config& c) { return c.name; });
}

}  // namespace shoal::manager
