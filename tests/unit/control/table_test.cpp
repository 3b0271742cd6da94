#include "control/cli/table.h"

#include <gtest/gtest.h>

namespace shoal::cli {
namespace {

// Docker's tabwriter: padding 3, minwidth 10, last column unpadded.
TEST(CliTable, ColumnsAreWidestCellPlusThreeAtLeastTen) {
  std::string out = render_table({"ID", "NAME", "DRIVER", "SCOPE"},
                                 {{"abcdef123456", "ingress", "overlay", "swarm"},
                                  {"0123456789ab", "a-much-longer-name", "overlay", "swarm"}});
  EXPECT_EQ(out,
            "ID             NAME                 DRIVER    SCOPE\n"
            "abcdef123456   ingress              overlay   swarm\n"
            "0123456789ab   a-much-longer-name   overlay   swarm\n");
}

TEST(CliTable, EmptyTrailingCellsLeaveNoBlanksAndEmptyTableIsHeader) {
  EXPECT_EQ(render_table({"A", "B"}, {{"x", ""}}), "A         B\nx\n");
  EXPECT_EQ(render_table({"ID", "NAME"}, {}), "ID        NAME\n");
}

TEST(CliTable, WideCharactersCountOnce) {
  EXPECT_EQ(render_table({"A", "B"}, {{"\xE2\x80\xA6", "y"}}),
            "A         B\n\xE2\x80\xA6         y\n");
}

}  // namespace
}  // namespace shoal::cli
