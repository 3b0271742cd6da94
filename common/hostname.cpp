#include "common/hostname.h"

#include <cstdio>
#include <string>

#include "common/printable.h"

namespace shoal {
namespace {

constexpr size_t kQuotedBytes = 64;  // of the name in an error message

Error bad_hostname(std::string_view name, std::string reason) {
  return invalid_argument("hostname \"" + printable(name, {.max_bytes = kQuotedBytes}) + "\"",
                          std::move(reason));
}

bool label_character(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

std::string describe(unsigned char c) {
  if (c < 0x20 || c == 0x7F) {
    char text[48];
    std::snprintf(text, sizeof text, "a control character (0x%02x)", c);
    return text;
  }
  if (c >= 0x80) {
    return "a character outside ASCII";
  }
  return std::string("'") + static_cast<char>(c) + "'";
}

Status validate_label(std::string_view name, std::string_view label, size_t position) {
  if (label.empty()) {
    return bad_hostname(name, "has an empty label at byte " + std::to_string(position) +
                                  " (a dot at either end, or two in a row)");
  }
  if (label.size() > kMaxHostnameLabelBytes) {
    return bad_hostname(name, "has a label of " + std::to_string(label.size()) + " bytes at byte " +
                                  std::to_string(position) + ": at most " +
                                  std::to_string(kMaxHostnameLabelBytes));
  }
  if (label.front() == '-' || label.back() == '-') {
    return bad_hostname(
        name, "has a label beginning or ending with '-' (\"" + std::string(label) + "\")");
  }
  return {};
}

}  // namespace

Status validate_hostname(std::string_view name) {
  if (name.empty()) {
    return bad_hostname(name, "is empty");
  }
  if (name.size() > kMaxHostnameBytes) {
    return bad_hostname(name, "is " + std::to_string(name.size()) + " bytes long: at most " +
                                  std::to_string(kMaxHostnameBytes));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c != '.' && !label_character(c)) {
      return bad_hostname(name, "contains " + describe(c) + " at byte " + std::to_string(i) +
                                    ": a host name (RFC 1123) has only letters, digits, '-' "
                                    "and '.'");
    }
  }
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    size_t end = dot == std::string_view::npos ? name.size() : dot;
    SHOAL_TRY(validate_label(name, name.substr(start, end - start), start));
    if (dot == std::string_view::npos) {
      return {};
    }
    start = dot + 1;
  }
}

}  // namespace shoal
