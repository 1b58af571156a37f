// Tests of query-parameter lookup: decoding, '+', malformed escapes, duplicates, buffer size.
#include "http/query.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

namespace wsa {
namespace {

struct lookup {
  query_status status;
  std::string value;
};

lookup find(std::string_view query, std::string_view name, std::size_t capacity = 64) {
  std::array<char, 256> buffer{};
  const query_value v = find_query_param(query, name, std::span<char>(buffer.data(), capacity));
  return {v.status, std::string(buffer.data(), v.found() ? v.length : 0)};
}

TEST(http_query, finds_and_decodes) {
  EXPECT_EQ(find("token=abc.def", "token").value, "abc.def");
  EXPECT_EQ(find("a=1&token=x%2Fy%2bz+w&b=2", "token").value, "x/y+z w");
  EXPECT_EQ(find("a=1&token=", "token").status, query_status::found);
  EXPECT_EQ(find("a=1&token=", "token").value, "");
  EXPECT_EQ(find("token", "token").status, query_status::found);
  EXPECT_EQ(find("&&token=v&", "token").value, "v");
  EXPECT_EQ(find("t%6Fken=v", "token").value, "v");  // names are decoded too
  EXPECT_EQ(find("token=a=b", "token").value, "a=b");
  EXPECT_EQ(find("x=%C3%A9", "x").value, "\xc3\xa9");
}

TEST(http_query, absent) {
  EXPECT_EQ(find("", "token").status, query_status::absent);
  EXPECT_EQ(find("tokens=1&Token=2&tok=3", "token").status, query_status::absent);
  EXPECT_EQ(find("a=%zz", "token").status, query_status::absent);  // other values unread
}

TEST(http_query, malformed) {
  for (const char* q : {"token=%", "token=%4", "token=%4g", "token=%g4", "token=a%", "token=%00",
                        "to%ken=v", "a%=1&token=v"}) {
    EXPECT_EQ(find(q, "token").status, query_status::malformed) << q;
  }
}

TEST(http_query, duplicates_are_refused) {
  EXPECT_EQ(find("token=a&token=b", "token").status, query_status::duplicate);
  EXPECT_EQ(find("token=a&x=1&tok%65n=a", "token").status, query_status::duplicate);
}

TEST(http_query, too_long) {
  EXPECT_EQ(find("token=abcd", "token", 4).value, "abcd");
  EXPECT_EQ(find("token=abcde", "token", 4).status, query_status::too_long);
  EXPECT_EQ(find("token=%41%41%41%41", "token", 4).value, "AAAA");
  EXPECT_EQ(find("token=", "token", 0).status, query_status::found);
}

}  // namespace
}  // namespace wsa
