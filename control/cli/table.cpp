#include "control/cli/table.h"

#include <algorithm>

#include "common/printable.h"

namespace shoal::cli {
namespace {

constexpr size_t kMinWidth = 10;
constexpr size_t kPadding = 3;

// Display width: counts UTF-8 code points, not bytes, so "µ" or "…" take one column.
size_t width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

std::string render_table(const Row& header, const std::vector<Row>& raw_rows) {
  // Cells carry what nodes and other operators wrote (a node's name, a task's error): a
  // terminal escape or a newline in one must print as text, not act on the terminal.
  std::vector<Row> rows;
  rows.reserve(raw_rows.size());
  for (const auto& row : raw_rows) {
    Row& escaped = rows.emplace_back();
    for (const auto& cell : row)
      escaped.push_back(printable(cell));
  }
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const Row& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  };
  measure(header);
  for (const auto& row : rows) {
    measure(row);
  }
  std::string out;
  auto emit = [&](const Row& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      line += cell;
      if (i + 1 < widths.size()) {
        size_t column = std::max(widths[i] + kPadding, kMinWidth);
        line.append(column - width(cell), ' ');
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows) {
    emit(row);
  }
  return out;
}

}  // namespace shoal::cli
