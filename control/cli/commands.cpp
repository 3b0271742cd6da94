#include "control/cli/commands.h"

#include <cstdlib>

#include "control/cli/inspect.h"

namespace shoal::cli {

Result<std::string> parse_env(const std::string& text) {
  SHOAL_ASSIGN_OR_RETURN(auto kv, split_key_value(text, "--env", false));
  if (text.find('=') != std::string::npos) {
    return text;
  }
  const char* value = std::getenv(kv.first.c_str());
  if (value == nullptr) {
    return usage_error("invalid --env \"" + text + "\": expected KEY=VALUE (" + kv.first +
                       " is not set here)");
  }
  return kv.first + "=" + value;
}

Status check_format(const std::string& format) {
  if (format != "table" && format != "json") {
    return usage_error("unsupported --format \"" + format + "\": use json or table");
  }
  return Status();
}

void print_rows(const std::string& format, const Row& header, const std::vector<std::string>& keys,
                const std::vector<Row>& rows, const std::vector<nlohmann::json>& extra) {
  if (format == "json") {
    for (size_t r = 0; r < rows.size(); ++r) {
      nlohmann::json object = r < extra.size() ? extra[r] : nlohmann::json::object();
      for (size_t c = 0; c < keys.size() && c < rows[r].size(); ++c) {
        object[keys[c]] = rows[r][c];
      }
      std::cout << dump_json(object) << "\n";
    }
    return;
  }
  std::cout << render_table(header, rows);
}

Result<std::pair<std::string, std::string>> split_key_value(const std::string& text,
                                                            const std::string& what,
                                                            bool value_required) {
  size_t eq = text.find('=');
  if (eq == 0 || text.empty()) {
    return usage_error("invalid " + what + " \"" + text + "\": the key is empty");
  }
  if (eq == std::string::npos) {
    if (value_required) {
      return usage_error("invalid " + what + " \"" + text + "\": expected KEY=VALUE");
    }
    return std::make_pair(text, std::string());
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

}  // namespace shoal::cli
