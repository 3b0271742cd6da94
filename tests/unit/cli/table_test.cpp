#include "control/cli/table.h"

#include <gtest/gtest.h>

#include "control/cli/inspect.h"

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

// The review's finding #5: a node named "\e]0;owned-title\a\e[2J\e[31mh2" put raw escapes in
// `node ls` (retitling and clearing the operator's terminal). They print as text now.
TEST(CliTable, ControlCharactersInCellsPrintEscaped) {
  std::string hostile = "\x1b]0;owned-title\a\x1b[2J\x1b[31mh2";
  std::string out = render_table({"ID", "HOSTNAME"}, {{"n1", hostile}, {"n2", "a\nb\tc\r"}});
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find('\a'), std::string::npos) << out;
  EXPECT_EQ(out,
            "ID        HOSTNAME\n"
            "n1        \\x1b]0;owned-title\\x07\\x1b[2J\\x1b[31mh2\n"
            "n2        a\\nb\\tc\\r\n");
}

TEST(CliTable, C1ControlsBidiOverridesAndBrokenUtf8PrintEscaped) {
  // U+009B (CSI as one character), U+202E (right-to-left override), a lone continuation byte.
  std::string out = render_table({"A"}, {{"x\xC2\x9By\xE2\x80\xAEz\x80"}});
  EXPECT_EQ(out, "A\nx\\u009by\\u202ez\\x80\n");
}

TEST(CliJson, NodeTextThatIsNotUtf8PrintsInsteadOfFailing) {
  nlohmann::json row = {{"Hostname", std::string("h\xff\x1b[2J")}};
  std::string out = dump_json(row);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find("\\u001b[2J"), std::string::npos) << out;
}

}  // namespace
}  // namespace shoal::cli
