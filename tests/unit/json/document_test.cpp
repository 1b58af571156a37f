// The DOM adapter for small documents (tokens, key files): types, members in document order
// with duplicates, elements, lookups, and refusals.
#include "json/document.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsa {
namespace {

TEST(json_document, reads_every_type) {
  json_document parser(4096, true);
  json_value root;
  std::string error;
  ASSERT_TRUE(parser.parse(R"({"s":"x\ny","i":-5,"b":18446744073709551615,"d":1.5,"t":true,)"
                           R"("n":null,"a":[1,"two"],"o":{}})",
                           root, error))
      << error;
  EXPECT_EQ(root.type(), json_type::object);
  std::vector<std::pair<std::string, json_type>> seen;
  for (const json_member& m : root.members()) {
    seen.emplace_back(m.key, m.value.type());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, json_type>>{
                      {"s", json_type::string},
                      {"i", json_type::integer},
                      {"b", json_type::big_integer},
                      {"d", json_type::number},
                      {"t", json_type::boolean},
                      {"n", json_type::null},
                      {"a", json_type::array},
                      {"o", json_type::object}}));
  json_value v;
  std::string_view s;
  ASSERT_TRUE(root.member("s", v));
  ASSERT_TRUE(v.get(s));
  EXPECT_EQ(s, "x\ny");  // unescaped
  int64_t i = 0;
  ASSERT_TRUE(root.member("i", v));
  EXPECT_TRUE(v.get(i));
  EXPECT_EQ(i, -5);
  EXPECT_FALSE(v.get(s));  // not a string: unchanged
  EXPECT_EQ(s, "x\ny");
  double d = 0;
  ASSERT_TRUE(root.member("d", v));
  EXPECT_TRUE(v.get(d));
  EXPECT_EQ(d, 1.5);
  EXPECT_FALSE(v.get(i));  // a number is not an integer
  ASSERT_TRUE(root.member("a", v));
  std::vector<json_type> elements;
  for (const json_member& e : v.elements()) {
    EXPECT_TRUE(e.key.empty());
    elements.push_back(e.value.type());
  }
  EXPECT_EQ(elements, (std::vector<json_type>{json_type::integer, json_type::string}));
  ASSERT_TRUE(root.member("o", v));
  EXPECT_EQ(v.members().begin() != v.members().end(), false);
  EXPECT_FALSE(root.member("missing", v));
}

TEST(json_document, duplicates_are_visible_and_lookups_take_the_first) {
  json_document parser(1024, false);
  json_value root;
  std::string error;
  ASSERT_TRUE(parser.parse(R"({"k":1,"k":2})", root, error));
  int count = 0;
  for (const json_member& m : root.members()) {
    EXPECT_EQ(m.key, "k");
    ++count;
  }
  EXPECT_EQ(count, 2);
  json_value v;
  int64_t i = 0;
  ASSERT_TRUE(root.member("k", v));
  ASSERT_TRUE(v.get(i));
  EXPECT_EQ(i, 1);
}

TEST(json_document, iterating_the_wrong_kind_gives_nothing) {
  json_document parser(1024, false);
  json_value root;
  std::string error;
  ASSERT_TRUE(parser.parse("[1,2]", root, error));
  EXPECT_FALSE(root.members().begin() != root.members().end());
  json_value v;
  EXPECT_FALSE(root.member("x", v));
  ASSERT_TRUE(parser.parse("\"s\"", root, error));
  EXPECT_FALSE(root.elements().begin() != root.elements().end());
}

TEST(json_document, invalid_or_oversized_documents_are_refused_with_a_reason) {
  json_document parser(16, false);
  json_value root;
  std::string error;
  EXPECT_FALSE(parser.parse(R"({"a":)", root, error));
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_FALSE(parser.parse(R"({"a":"more than sixteen bytes"})", root, error));
  EXPECT_FALSE(error.empty());
}

TEST(json_document, parses_in_place_with_padding) {
  json_document parser(1024, true);
  std::string buffer = R"({"x":7})";
  const std::size_t size = buffer.size();
  buffer.resize(size + json_document::padding(), '!');
  json_value root;
  std::string error;
  ASSERT_TRUE(parser.parse_padded(buffer.data(), size, root, error)) << error;
  json_value x;
  int64_t i = 0;
  ASSERT_TRUE(root.member("x", x));
  ASSERT_TRUE(x.get(i));
  EXPECT_EQ(i, 7);
}

}  // namespace
}  // namespace wsa
