// Value syntax shared by every option: booleans, counts, sizes, durations, suggestions.
#include "cli/values.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>

namespace wsa {
namespace {

constexpr uint64_t u64_max = std::numeric_limits<uint64_t>::max();

TEST(ParseBool, AcceptsEveryDocumentedSpellingInAnyCase) {
  for (const char* yes : {"true", "TRUE", "True", "1", "yes", "YES", "on", "On"}) {
    bool b = false;
    std::string why;
    EXPECT_TRUE(parse_bool(yes, b, why)) << yes;
    EXPECT_TRUE(b) << yes;
  }
  for (const char* no : {"false", "FALSE", "0", "no", "No", "off", "OFF"}) {
    bool b = true;
    std::string why;
    EXPECT_TRUE(parse_bool(no, b, why)) << no;
    EXPECT_FALSE(b) << no;
  }
}

TEST(ParseBool, RejectsOtherTextAndNamesIt) {
  for (const char* bad : {"", "2", "y", "n", "truee", "enable", " true"}) {
    bool b = false;
    std::string why;
    EXPECT_FALSE(parse_bool(bad, b, why)) << bad;
    EXPECT_NE(why.find("bad boolean '" + std::string(bad) + "'"), std::string::npos) << why;
  }
}

TEST(ParseCount, ReadsDecimalsWithinRange) {
  uint64_t n = 7;
  std::string why;
  ASSERT_TRUE(parse_count("0", 0, 10, n, why));
  EXPECT_EQ(n, 0u);
  ASSERT_TRUE(parse_count("10", 0, 10, n, why));
  EXPECT_EQ(n, 10u);
  ASSERT_TRUE(parse_count("18446744073709551615", 0, u64_max, n, why));
  EXPECT_EQ(n, u64_max);
}

TEST(ParseCount, RejectsSyntaxAndRangeWithTheText) {
  uint64_t n = 7;
  std::string why;
  for (const char* bad : {"", "-1", "+1", "1.0", "1e3", "12a", " 1", "0x10", "64k"}) {
    EXPECT_FALSE(parse_count(bad, 0, 1000, n, why)) << bad;
    EXPECT_EQ(why, "bad number '" + std::string(bad) + "' (expected a whole decimal number)");
  }
  EXPECT_FALSE(parse_count("1025", 0, 1024, n, why));
  EXPECT_EQ(why, "'1025' is out of range (0..1024)");
  EXPECT_FALSE(parse_count("0", 1, 5, n, why));
  EXPECT_EQ(why, "'0' is out of range (1..5)");
  EXPECT_FALSE(parse_count("18446744073709551616", 0, u64_max, n, why));  // 2^64
  EXPECT_NE(why.find("out of range"), std::string::npos);
  EXPECT_EQ(n, 7u) << "a failed parse leaves the output alone";
}

TEST(ParseSize, SuffixesAreBinaryAndCaseInsensitive) {
  struct sample {
    const char* text;
    uint64_t bytes;
  };
  const sample samples[] = {
      {"0", 0},
      {"512", 512},
      {"512b", 512},
      {"512B", 512},
      {"64k", 64 * 1024},
      {"64K", 64 * 1024},
      {"64kb", 64 * 1024},
      {"64KiB", 64 * 1024},
      {"1m", 1 << 20},
      {"1MB", 1 << 20},
      {"1MiB", 1 << 20},
      {"1mib", 1 << 20},
      {"2g", uint64_t{2} << 30},
      {"2GiB", uint64_t{2} << 30},
  };
  for (const sample& s : samples) {
    uint64_t n = 0;
    std::string why;
    ASSERT_TRUE(parse_size(s.text, 0, u64_max, n, why)) << s.text << ": " << why;
    EXPECT_EQ(n, s.bytes) << s.text;
  }
}

TEST(ParseSize, RejectsBadTextAndOutOfRange) {
  uint64_t n = 0;
  std::string why;
  for (const char* bad : {"", "k", "64q", "64 k", "1.5m", "-1", "64kk", "1t", "0x40"}) {
    EXPECT_FALSE(parse_size(bad, 0, u64_max, n, why)) << bad;
    EXPECT_NE(why.find("bad size '" + std::string(bad) + "'"), std::string::npos) << why;
  }
  EXPECT_FALSE(parse_size("0", 1, 64 << 20, n, why));
  EXPECT_EQ(why, "'0' is out of range (1..64MiB)");
  EXPECT_FALSE(parse_size("65m", 1, 64 << 20, n, why));
  EXPECT_EQ(why, "'65m' is out of range (1..64MiB)");
  EXPECT_FALSE(parse_size("17179869184g", 0, u64_max, n, why)) << "2^34 GiB overflows";
  EXPECT_NE(why.find("out of range"), std::string::npos);
}

TEST(ParseDuration, UnitsAndCompoundsInMilliseconds) {
  struct sample {
    const char* text;
    uint64_t ms;
  };
  const sample samples[] = {
      {"0", 0},        {"250", 250},     {"250ms", 250},   {"5s", 5000},        {"1m", 60000},
      {"1h", 3600000}, {"1d", 86400000}, {"1m30s", 90000}, {"1h0m1s", 3601000}, {"2s500ms", 2500},
      {"0s", 0},
  };
  for (const sample& s : samples) {
    uint64_t n = 0;
    std::string why;
    ASSERT_TRUE(parse_duration(s.text, time_unit::milliseconds, 0, u64_max, n, why))
        << s.text << ": " << why;
    EXPECT_EQ(n, s.ms) << s.text;
  }
}

TEST(ParseDuration, BareNumberMeansTheFieldsUnit) {
  uint64_t n = 0;
  std::string why;
  ASSERT_TRUE(parse_duration("30", time_unit::seconds, 0, 3600, n, why));
  EXPECT_EQ(n, 30u);
  ASSERT_TRUE(parse_duration("30", time_unit::milliseconds, 0, 3600, n, why));
  EXPECT_EQ(n, 30u);
  ASSERT_TRUE(parse_duration("2m", time_unit::seconds, 0, 3600, n, why));
  EXPECT_EQ(n, 120u);
  ASSERT_TRUE(parse_duration("3000ms", time_unit::seconds, 0, 3600, n, why));
  EXPECT_EQ(n, 3u);
}

TEST(ParseDuration, RejectsBadTextWithTheTextAndTheBareUnit) {
  uint64_t n = 0;
  std::string why;
  for (const char* bad : {"", "s", "1.5s", "5 s", "5sec", "-5s", "1m30", "5S", "ms5", "1w"}) {
    EXPECT_FALSE(parse_duration(bad, time_unit::milliseconds, 0, u64_max, n, why)) << bad;
    EXPECT_NE(why.find("bad duration '" + std::string(bad) + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("a bare number means milliseconds"), std::string::npos) << why;
  }
  EXPECT_FALSE(parse_duration("x", time_unit::seconds, 0, u64_max, n, why));
  EXPECT_NE(why.find("a bare number means seconds"), std::string::npos) << why;
}

TEST(ParseDuration, SecondsMustBeWholeAndRangesUseTheFieldsUnit) {
  uint64_t n = 0;
  std::string why;
  EXPECT_FALSE(parse_duration("1500ms", time_unit::seconds, 0, 3600, n, why));
  EXPECT_EQ(why, "'1500ms' is not a whole number of seconds");
  EXPECT_FALSE(parse_duration("2h", time_unit::seconds, 0, 3600, n, why));
  EXPECT_EQ(why, "'2h' is out of range (0s..1h)");
  EXPECT_FALSE(parse_duration("0", time_unit::milliseconds, 1, 3600000, n, why));
  EXPECT_EQ(why, "'0' is out of range (1ms..1h)");
  EXPECT_FALSE(
      parse_duration("99999999999999999999d", time_unit::milliseconds, 0, u64_max, n, why));
  EXPECT_NE(why.find("out of range"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("300000000000d", time_unit::milliseconds, 0, u64_max, n, why))
      << "the product overflows 64 bits";
}

TEST(FormatSize, LargestExactUnitAndRoundTrips) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(100), "100");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(64 * 1024), "64KiB");
  EXPECT_EQ(format_size(1 << 20), "1MiB");
  EXPECT_EQ(format_size(3u << 30), "3GiB");
  for (uint64_t v : {uint64_t{0}, uint64_t{7}, uint64_t{8192}, uint64_t{5} << 20}) {
    uint64_t back = 1;
    std::string why;
    ASSERT_TRUE(parse_size(format_size(v), 0, u64_max, back, why)) << why;
    EXPECT_EQ(back, v);
  }
}

TEST(FormatDuration, CompoundAndRoundTrips) {
  EXPECT_EQ(format_duration(0, time_unit::milliseconds), "0s");
  EXPECT_EQ(format_duration(250, time_unit::milliseconds), "250ms");
  EXPECT_EQ(format_duration(5000, time_unit::milliseconds), "5s");
  EXPECT_EQ(format_duration(90000, time_unit::milliseconds), "1m30s");
  EXPECT_EQ(format_duration(30, time_unit::seconds), "30s");
  EXPECT_EQ(format_duration(3600, time_unit::seconds), "1h");
  EXPECT_EQ(format_duration(86400 + 1, time_unit::seconds), "1d1s");
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{61001}, uint64_t{90061001}}) {
    uint64_t back = 1;
    std::string why;
    ASSERT_TRUE(parse_duration(format_duration(v, time_unit::milliseconds), time_unit::milliseconds,
                               0, u64_max, back, why))
        << why;
    EXPECT_EQ(back, v);
  }
}

TEST(ClosestName, SuggestsPlausibleTyposOnly) {
  const std::array<std::string_view, 5> names = {"listen", "shards", "max-message-bytes",
                                                 "max-connections", "no-auth"};
  EXPECT_EQ(closest_name("lisen", names), "listen");
  EXPECT_EQ(closest_name("listne", names), "listen") << "a swap counts once";
  EXPECT_EQ(closest_name("shard", names), "shards");
  EXPECT_EQ(closest_name("max-message-byte", names), "max-message-bytes");
  EXPECT_EQ(closest_name("max-mess", names), "max-message-bytes") << "prefix";
  EXPECT_EQ(closest_name("noauth", names), "no-auth");
  EXPECT_EQ(closest_name("LISTEN", names), "listen");
  EXPECT_EQ(closest_name("zzzzzzzzzz", names), "");
  EXPECT_EQ(closest_name("port", names), "");
}

}  // namespace
}  // namespace wsa
