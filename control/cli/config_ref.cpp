#include "control/cli/config_ref.h"

#include <charconv>

#include "control/cli/client.h"
#include "control/cli/key_values.h"

namespace shoal::cli {

Result<api::ConfigReference> parse_config_ref(const std::string& text) {
  api::ConfigReference ref;
  auto bad = [&](const std::string& why) {
    return usage_error("invalid --config \"" + text + "\": " + why);
  };
  if (text.find('=') == std::string::npos) {
    if (text.empty())
      return bad("empty");
    ref.set_config_name(text);
    return ref;
  }
  auto fields = split_key_values(text);
  if (!fields.ok())
    return bad(fields.error().detail);
  for (const auto& [key, value] : *fields) {
    if (key == "source" || key == "src") {
      ref.set_config_name(value);
    } else if (key == "target") {
      if (value.empty() || value.front() != '/')
        return bad("target must be an absolute path");
      ref.set_target(value);
    } else if (key == "mode") {
      uint32_t mode = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mode, 8);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || mode > 0777)
        return bad("mode must be octal, at most 0777");
      ref.set_mode(mode);
    } else if (key == "uid" || key == "gid") {
      return bad(key + " is not supported: tasks run as root");
    } else {
      return bad("unknown field \"" + key + "\"");
    }
  }
  if (ref.config_name().empty())
    return bad("source is required");
  return ref;
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
            kAlphabet[n & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

}  // namespace shoal::cli
