#include "control/cli/publish.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace shoal::cli {
namespace {

Error bad(std::string_view text, std::string reason) {
  return Error{"invalid publish", "\"" + std::string(text) + "\"", 0, std::move(reason)};
}

// 1-65535, or 0 when `allow_zero` (published: let the manager pick).
bool parse_port(std::string_view s, bool allow_zero, uint32_t& port) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value > 65535 ||
      (value == 0 && !allow_zero)) {
    return false;
  }
  port = value;
  return true;
}

bool valid_protocol(std::string_view p) {
  return p == "tcp" || p == "udp" || p == "sctp";
}

Result<api::PortConfig> parse_long(std::string_view text) {
  api::PortConfig port;
  port.set_protocol("tcp");
  port.set_mode("ingress");
  bool have_target = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view field = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      return bad(text, "field \"" + std::string(field) + "\" is not KEY=VALUE");
    }
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    uint32_t number = 0;
    if (key == "published") {
      if (!parse_port(value, true, number)) {
        return bad(text, "published port \"" + std::string(value) + "\" is not 0-65535");
      }
      port.set_published(number);
    } else if (key == "target") {
      if (!parse_port(value, false, number)) {
        return bad(text, "target port \"" + std::string(value) + "\" is not 1-65535");
      }
      port.set_target(number);
      have_target = true;
    } else if (key == "protocol") {
      if (!valid_protocol(value)) {
        return bad(text, "protocol \"" + std::string(value) + "\" is not tcp, udp or sctp");
      }
      port.set_protocol(std::string(value));
    } else if (key == "mode") {
      if (value != "ingress" && value != "host") {
        return bad(text, "mode \"" + std::string(value) + "\" is not ingress or host");
      }
      port.set_mode(std::string(value));
    } else {
      return bad(text, "unknown field \"" + std::string(key) +
                           "\" (use published, target, protocol, mode)");
    }
  }
  if (!have_target) {
    return bad(text, "missing target=PORT");
  }
  return port;
}

}  // namespace

Status update_ports(api::ServiceSpec& spec, const std::vector<std::string>& add,
                    const std::vector<std::string>& remove) {
  api::ServiceSpec updated = spec;  // all or nothing
  auto* ports = updated.mutable_ports();
  for (const auto& text : remove) {
    SHOAL_ASSIGN_OR_RETURN(auto gone, parse_publish(text));
    auto matches = [&](const api::PortConfig& port) {
      return port.target() == gone.target() && port.protocol() == gone.protocol() &&
             (gone.published() == 0 || port.published() == gone.published());
    };
    auto size = ports->size();
    ports->erase(std::remove_if(ports->begin(), ports->end(), matches), ports->end());
    if (ports->size() == size) {
      return bad(text, "the service publishes no such port");
    }
  }
  for (const auto& text : add) {
    SHOAL_ASSIGN_OR_RETURN(auto port, parse_publish(text));
    auto replaced = [&](const api::PortConfig& old) {
      return (port.published() != 0 && old.published() == port.published() &&
              old.protocol() == port.protocol()) ||
             (old.target() == port.target() && old.protocol() == port.protocol());
    };
    ports->erase(std::remove_if(ports->begin(), ports->end(), replaced), ports->end());
    *ports->Add() = port;
  }
  spec = std::move(updated);
  return {};
}

Result<api::PortConfig> parse_publish(std::string_view text) {
  if (text.find('=') != std::string_view::npos) {
    return parse_long(text);
  }
  api::PortConfig port;
  port.set_protocol("tcp");
  port.set_mode("ingress");
  std::string_view ports = text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    std::string_view protocol = text.substr(slash + 1);
    if (!valid_protocol(protocol)) {
      return bad(text, "protocol \"" + std::string(protocol) + "\" is not tcp, udp or sctp");
    }
    port.set_protocol(std::string(protocol));
    ports = text.substr(0, slash);
  }
  if (ports.empty()) {
    return bad(text, "expected [PUBLISHED:]TARGET[/PROTOCOL], e.g. 8080:80/tcp");
  }
  uint32_t number = 0;
  size_t colon = ports.find(':');
  if (colon != std::string_view::npos) {
    std::string_view published = ports.substr(0, colon);
    if (published.find('-') != std::string_view::npos) {
      return bad(text, "port ranges are not supported");
    }
    if (!parse_port(published, false, number)) {
      return bad(text, "published port \"" + std::string(published) + "\" is not 1-65535");
    }
    port.set_published(number);
    ports = ports.substr(colon + 1);
  }
  if (ports.find('-') != std::string_view::npos) {
    return bad(text, "port ranges are not supported");
  }
  if (!parse_port(ports, false, number)) {
    return bad(text, "target port \"" + std::string(ports) + "\" is not 1-65535");
  }
  port.set_target(number);
  return port;
}

}  // namespace shoal::cli
