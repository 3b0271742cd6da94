// Small helpers the tests share.
#pragma once

#include <gtest/gtest.h>

#include "common/net_types.h"

// Asserts that a Result or Status is ok, printing its error otherwise.
#define ASSERT_OK(expr)                                     \
  do {                                                      \
    auto&& status_ = (expr);                                \
    ASSERT_TRUE(status_.ok()) << status_.error().message(); \
  } while (0)

namespace shoal::testing {

// An address written in a test: the text is known good, so a parse error is a bug in the test.
inline Ipv4 ip(const char* text) {
  auto parsed = Ipv4::parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : Ipv4();
}

}  // namespace shoal::testing
