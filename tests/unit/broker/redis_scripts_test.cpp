// Key, channel and glob naming of the Redis broker, and the live payload format.
#include "broker/redis_scripts.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace wsa {
namespace {

TEST(redis_scripts, channel_names_carry_the_tag) {
  std::string_view tag;
  ASSERT_TRUE(redis_channel_tag("wsa:{chat.lobby}", tag));
  EXPECT_EQ(tag, "chat.lobby");
  ASSERT_TRUE(redis_channel_tag("wsa:{a}b}", tag));  // a '}' inside a tag is kept
  EXPECT_EQ(tag, "a}b");
  EXPECT_FALSE(redis_channel_tag("wsa:{}", tag));
  EXPECT_FALSE(redis_channel_tag("wsa:{x", tag));
  EXPECT_FALSE(redis_channel_tag("other:{x}", tag));
}

TEST(redis_scripts, pattern_globs_are_supersets_with_literals_escaped) {
  std::string glob;
  redis_pattern_glob("chat.*", glob);
  EXPECT_EQ(glob, "wsa:{chat.*}");
  redis_pattern_glob("news.>", glob);
  EXPECT_EQ(glob, "wsa:{news.*}");
  redis_pattern_glob("*.x.*.>", glob);
  EXPECT_EQ(glob, "wsa:{*.x.*.*}");
  redis_pattern_glob("a[1]?\\b.*", glob);
  EXPECT_EQ(glob, "wsa:{a\\[1\\]\\?\\\\b.*}");
}

TEST(redis_scripts, live_payload_splits_at_the_first_three_spaces_only) {
  uint64_t seq = 0;
  std::string_view epoch;
  int64_t ts = 0;
  std::string_view data;
  ASSERT_TRUE(
      redis_parse_live("42 9f2c0a1b 1764950400123 {\"a\": \"b c\"}", seq, epoch, ts, data));
  EXPECT_EQ(seq, 42u);
  EXPECT_EQ(epoch, "9f2c0a1b");
  EXPECT_EQ(ts, 1764950400123);
  EXPECT_EQ(data, "{\"a\": \"b c\"}");
  ASSERT_TRUE(redis_parse_live("1 e 5 ", seq, epoch, ts, data));
  EXPECT_EQ(ts, 5);
  EXPECT_EQ(data, "");
  EXPECT_FALSE(redis_parse_live("x e 1 d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("12", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("12 e", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("12 e 7", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("12 e x7 d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live(" 1 e 1 d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("1 e  d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("1 e - d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("+1 e 1 d", seq, epoch, ts, data));
  // Numbers at and past their types' ends.
  ASSERT_TRUE(redis_parse_live("18446744073709551615  -9223372036854775808 d", seq, epoch, ts,
                               data));
  EXPECT_EQ(seq, UINT64_MAX);
  EXPECT_EQ(epoch, "");
  EXPECT_EQ(ts, INT64_MIN);
  EXPECT_EQ(data, "d");
  ASSERT_TRUE(redis_parse_live("7 e 9223372036854775807 d", seq, epoch, ts, data));
  EXPECT_EQ(ts, INT64_MAX);
  EXPECT_FALSE(redis_parse_live("18446744073709551616 e 1 d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("7 e 9223372036854775808 d", seq, epoch, ts, data));
  EXPECT_FALSE(redis_parse_live("7 e -9223372036854775809 d", seq, epoch, ts, data));
}

}  // namespace
}  // namespace wsa
