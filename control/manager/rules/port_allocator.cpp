#include "control/manager/rules/port_allocator.h"

namespace shoal::manager {

namespace {
std::string port_text(uint16_t port, Protocol protocol) {
  return std::to_string(port) + "/" + std::string(to_string(protocol));
}
}  // namespace

Result<std::vector<PortConfig>> PortAllocator::allocate(const std::string& owner,
                                                        std::vector<PortConfig> ports) {
  std::vector<PortConfig> done;
  auto undo = [&](Error error) -> Error {
    release(done);
    return error;
  };
  // Explicit ports first, so a dynamic pick never takes a port the same spec names later.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& port : ports) {
      if (port.mode != PublishMode::kIngress || (pass == 0) != (port.published != 0)) {
        continue;
      }
      if (port.target == 0) {
        return undo(invalid_argument("service " + owner, "a published port needs a target port"));
      }
      if (port.published == 0) {
        auto picked = next_dynamic(port.protocol);
        if (!picked.ok()) {
          return undo(std::move(picked).error());
        }
        port.published = *picked;
      } else if (auto it = taken_.find({port.protocol, port.published}); it != taken_.end()) {
        return undo(invalid_argument("service " + owner,
                                     "port " + port_text(port.published, port.protocol) +
                                         " is already in use by service " + it->second));
      }
      taken_.emplace(Key{port.protocol, port.published}, owner);
      done.push_back(port);
    }
  }
  return ports;
}

void PortAllocator::release(const std::vector<PortConfig>& ports) {
  for (const auto& port : ports) {
    if (port.mode == PublishMode::kIngress && port.published != 0) {
      taken_.erase({port.protocol, port.published});
    }
  }
}

Result<uint16_t> PortAllocator::next_dynamic(Protocol protocol) {
  uint32_t span = uint32_t{last_} - first_ + 1;
  for (uint32_t step = 0; step < span; ++step) {
    auto port = static_cast<uint16_t>(first_ + (cursor_ - first_ + step) % span);
    if (!taken_.contains({protocol, port})) {
      cursor_ = static_cast<uint16_t>(port == last_ ? first_ : port + 1);
      return port;
    }
  }
  return invalid_argument("published ports", "no free port left in " + std::to_string(first_) +
                                                 "-" + std::to_string(last_) + "/" +
                                                 std::string(to_string(protocol)));
}

}  // namespace shoal::manager
