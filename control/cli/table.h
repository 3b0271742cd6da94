// Column output as docker prints it: Go's tabwriter with minwidth 10, padding 3 (docker's
// formatter settings), so a column is max(widest cell + 3, 10) wide. The last column is not
// padded, and trailing blanks are trimmed (docker leaves them; nobody reads them). Control
// characters in cells are printed escaped (common/printable.h).
#pragma once

#include <string>
#include <vector>

namespace shoal::cli {

using Row = std::vector<std::string>;

std::string render_table(const Row& header, const std::vector<Row>& rows);

}  // namespace shoal::cli
