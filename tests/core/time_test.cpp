#include "core/time.h"

#include <gtest/gtest.h>

namespace tbpay {
namespace {

TEST(Timestamps, FormatAsIso8601UtcWithMilliseconds) {
  auto t = parse_timestamp("2025-12-13T06:05:18.385Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(to_iso8601(*t), "2025-12-13T06:05:18.385Z");
  EXPECT_EQ(to_sql_timestamp(*t), "2025-12-13 06:05:18.385");
}

TEST(Timestamps, ParseDatabaseTextWithShortOrNoFraction) {
  EXPECT_EQ(to_iso8601(*parse_timestamp("2025-01-02 03:04:05")), "2025-01-02T03:04:05.000Z");
  EXPECT_EQ(to_iso8601(*parse_timestamp("2025-01-02 03:04:05.5")), "2025-01-02T03:04:05.500Z");
  EXPECT_EQ(to_iso8601(*parse_timestamp("2025-01-02 03:04:05.123456")),
            "2025-01-02T03:04:05.123Z");
}

TEST(Timestamps, RejectGarbage) {
  EXPECT_FALSE(parse_timestamp(""));
  EXPECT_FALSE(parse_timestamp("yesterday"));
  EXPECT_FALSE(parse_timestamp("2025-02-30 00:00:00"));
  EXPECT_FALSE(parse_timestamp("2025-01-02 03:04:05+07"));
}

}  // namespace
}  // namespace tbpay
