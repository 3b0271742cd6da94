// The depth check every JSON decoder of outside bytes runs before parsing (common/json_nesting.h).
#include "common/json_nesting.h"

#include <gtest/gtest.h>

#include <string>

namespace shoal {
namespace {

TEST(JsonNesting, CountsArraysAndObjectsAndSkipsStrings) {
  EXPECT_EQ(json_nesting(""), 0);
  EXPECT_EQ(json_nesting("42"), 0);
  EXPECT_EQ(json_nesting(R"({"a": [1, {"b": []}]})"), 4);
  EXPECT_EQ(json_nesting(R"({"a": "[[[[{{{{"})"), 1);          // brackets inside a string
  EXPECT_EQ(json_nesting(R"({"a": "\"[[[", "b": [[]]})"), 3);  // an escaped quote
  EXPECT_EQ(json_nesting(std::string(100000, '[')), 100000);   // refused by depth, never parsed
}

}  // namespace
}  // namespace shoal
