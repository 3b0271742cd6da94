#include "common/duration.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

using std::chrono::milliseconds;

TEST(CliDuration, ParsesDockerForms) {
  EXPECT_EQ(*parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(*parse_duration("1m30s"), milliseconds(90'000));
  EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1'500));
  EXPECT_EQ(*parse_duration("1h2m3s4ms"), milliseconds(3'723'004));
  EXPECT_EQ(*parse_duration("1500us"), milliseconds(1));
  EXPECT_EQ(*parse_duration("0"), milliseconds(0));
}

TEST(CliDuration, RefusesNumbersWithoutUnitAndJunk) {
  auto bare = parse_duration("10");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().message(),
            "invalid duration \"10\": missing unit (use e.g. 10s, 1m30s, 500ms)");
  EXPECT_FALSE(parse_duration("").ok());
  EXPECT_FALSE(parse_duration("s").ok());
  EXPECT_FALSE(parse_duration("10x").ok());
  EXPECT_FALSE(parse_duration("-5s").ok());
  EXPECT_FALSE(parse_duration("1m30").ok());
  EXPECT_FALSE(parse_duration(".s").ok());
  EXPECT_NE(parse_duration("10d").error().message().find("unknown unit \"d\""), std::string::npos);
}

TEST(CliDuration, FormatsLikeGo) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(5'000)), "5s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h0m0s");
  EXPECT_EQ(format_duration(milliseconds(1'500)), "1.5s");
}

}  // namespace
}  // namespace shoal
