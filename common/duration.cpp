#include "common/duration.h"

#include <cctype>
#include <cstdint>
#include <utility>

namespace shoal {
namespace {

Error bad(std::string_view text, std::string reason) {
  return Error{"invalid duration", "\"" + std::string(text) + "\"", 0, std::move(reason)};
}

// Nanoseconds per unit; longest names first so "ms" is not read as "m".
constexpr std::pair<std::string_view, double> kUnits[] = {
    {"ns", 1.0}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"ms", 1e6},
    {"s", 1e9},  {"m", 60e9}, {"h", 3600e9},
};

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) {
    return bad(text, "empty (use e.g. 10s, 1m30s, 500ms)");
  }
  if (text == "0") {
    return std::chrono::milliseconds(0);  // Go accepts a bare zero, and so does docker
  }
  if (text[0] == '-' || text[0] == '+') {
    return bad(text, "must be a positive duration without a sign");
  }
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0)) {
      ++i;
    }
    double value = 0;
    for (size_t k = start; k < i; ++k) {
      value = value * 10 + (text[k] - '0');
    }
    bool digits = i > start;
    if (i < text.size() && text[i] == '.') {
      ++i;
      double scale = 0.1;
      size_t frac_start = i;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0)) {
        value += (text[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      digits = digits || i > frac_start;
    }
    if (!digits) {
      return bad(text, "expected a number at \"" + std::string(text.substr(start)) + "\"");
    }
    size_t unit_start = i;
    while (i < text.size() && text[i] != '.' &&
           (std::isdigit(static_cast<unsigned char>(text[i])) == 0)) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return bad(text, "missing unit (use e.g. 10s, 1m30s, 500ms)");
    }
    double per_unit = 0;
    for (const auto& [name, ns] : kUnits) {
      if (unit == name) {
        per_unit = ns;
      }
    }
    if (per_unit == 0) {
      return bad(text, "unknown unit \"" + std::string(unit) + "\" (use ns, us, ms, s, m, h)");
    }
    total_ns += value * per_unit;
  }
  // Beyond ~292 years the nanosecond count overflows in Go too.
  if (total_ns > 9.2e18) {
    return bad(text, "too long");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ns / 1e6));
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  if (ms < 1000) {
    return std::to_string(ms) + "ms";
  }
  std::string text;
  int64_t hours = ms / 3'600'000;
  int64_t minutes = ms / 60'000 % 60;
  int64_t seconds = ms / 1000 % 60;
  int64_t millis = ms % 1000;
  if (hours > 0) {
    text += std::to_string(hours) + "h";
  }
  if (hours > 0 || minutes > 0) {
    text += std::to_string(minutes) + "m";
  }
  text += std::to_string(seconds);
  if (millis > 0) {
    std::string frac = std::to_string(millis);
    frac.insert(0, 3 - frac.size(), '0');
    while (frac.back() == '0') {
      frac.pop_back();
    }
    text += "." + frac;
  }
  return text + "s";
}

}  // namespace shoal
