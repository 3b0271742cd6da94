#include "control/cli/key_values.h"

#include <sstream>

namespace shoal::cli {

Result<KeyValues> split_key_values(const std::string& text) {
  KeyValues out;
  std::istringstream fields(text);
  for (std::string field; std::getline(fields, field, ',');) {
    const size_t eq = field.find('=');
    if (eq == std::string::npos) {
      return invalid_argument(text, "expected KEY=VALUE fields, got \"" + field + "\"");
    }
    out.emplace_back(field.substr(0, eq), field.substr(eq + 1));
  }
  return out;
}

}  // namespace shoal::cli
