// The JSON validator: RFC 8259 edge cases, depth, UTF-8, and agreement with the command
// parser (the validator must accept as a value exactly what `pub`'s `data` may be).
#include "json/validate.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "json/command.h"

namespace wsa {
namespace {

using namespace std::string_literals;

const std::vector<std::string> valid = {
    "0",
    "-0",
    "1",
    "-1",
    "12.5e-3",
    "1E+2",
    "1e2",
    "0.0",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
    "\"\"",
    "\"a\"",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    "\"\\u00e9\\u0000\"",
    "\"\\ud83d\\ude00\"",
    "\"caf\xc3\xa9\"",
    "\"\xf0\x9f\x98\x80\"",
    "[]",
    "{}",
    "[1,2,3]",
    "{\"a\":1,\"b\":[true,false,null]}",
    " \t\r\n1 \n",
    " [ 1 , { } ] ",
    "{\"\":\"\"}",
    "[[[[]]]]",
    "\"\x7f\"",
};

const std::vector<std::string> invalid = {
    "",
    " ",
    "01",
    "-",
    "1.",
    ".1",
    "1e",
    "1e+",
    "+1",
    "0x1",
    "NaN",
    "Infinity",
    "tru",
    "nul",
    "truee",
    "\"",
    "\"abc",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\u12g4\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"a\nb\"",
    "\"\x01\"",
    "[",
    "]",
    "[1,]",
    "[,1]",
    "{\"a\"}",
    "{\"a\":}",
    "{a:1}",
    "{\"a\":1,}",
    "{,}",
    "[1 2]",
    "{\"a\":1 \"b\":2}",
    "1 2",
    "{}{}",
    "[]]",
    "\"\xc3\x28\"",
    "\"\xed\xa0\x80\"",
    "\xef\xbb\xbf{}",
    "'a'",
    "[1]x",
    "\"a\"\x00"s,
    "{\"a\":1}}",
};

TEST(json_validate, valid_and_invalid) {
  for (const std::string& v : valid) {
    EXPECT_TRUE(is_valid_json(v)) << v;
  }
  for (const std::string& v : invalid) {
    EXPECT_FALSE(is_valid_json(v)) << v;
  }
}

TEST(json_validate, depth) {
  auto nested = [](int n, char open, char close) {
    return std::string(static_cast<std::size_t>(n), open) +
           std::string(static_cast<std::size_t>(n), close);
  };
  EXPECT_TRUE(is_valid_json(nested(64, '[', ']')));
  EXPECT_FALSE(is_valid_json(nested(65, '[', ']')));
  EXPECT_TRUE(is_valid_json(nested(3, '[', ']'), 3));
  EXPECT_FALSE(is_valid_json(nested(4, '[', ']'), 3));
  std::string objects;
  for (int i = 0; i < 64; ++i) {
    objects += "{\"k\":";
  }
  objects += "1" + std::string(64, '}');
  EXPECT_TRUE(is_valid_json(objects));
  // Mixed: the container kind of each level is remembered across 64 levels.
  std::string mixed;
  for (int i = 0; i < 64; ++i) {
    mixed += i % 2 ? "[" : "{\"k\":";
  }
  for (int i = 63; i >= 0; --i) {
    mixed += i % 2 ? "]" : "}";
  }
  EXPECT_TRUE(is_valid_json(mixed));
  EXPECT_FALSE(is_valid_json(std::string(100000, '[')));
}

// The validator and the command parser agree on what `data` may be.
TEST(json_validate, agrees_with_the_command_parser) {
  command_parser parser(64 * 1024);
  auto parser_accepts = [&](const std::string& data) {
    const std::string frame = "{\"op\":\"pub\",\"tag\":\"a\",\"data\":" + data + "}";
    auto buf = std::make_unique<char[]>(frame.size() + json_padding());
    std::memcpy(buf.get(), frame.data(), frame.size());
    command cmd;
    parse_error err;
    return parser.parse(buf.get(), frame.size(), frame.size() + json_padding(), cmd, err);
  };
  std::vector<std::string> corpus = valid;
  for (const std::string& v : invalid) {
    // Pieces that would end the data early and still parse as a frame are left out.
    if (!v.empty() && v.find_first_of(",}") == std::string::npos) {
      corpus.push_back(v);
    }
  }
  // Random short strings over JSON's alphabet.
  std::mt19937 rng(7);
  const std::string alphabet = "[]{}\":,0123456789-+.eEtrufalsn \\u\xc3\xa9";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      s += alphabet[rng() % alphabet.size()];
    }
    if (s.find_first_of(",}") == std::string::npos) {
      corpus.push_back(s);
    }
  }
  for (const std::string& data : corpus) {
    const std::string trimmed = data;
    if (trimmed.find_first_not_of(" \t\r\n") == std::string::npos) {
      continue;  // no value at all: the frame would be missing its data
    }
    EXPECT_EQ(is_valid_json(data), parser_accepts(data)) << data;
  }
}

TEST(json_validate, unescape_string_contents) {
  std::string out;
  ASSERT_TRUE(unescape_json_string("plain", out));
  EXPECT_EQ(out, "plain");
  ASSERT_TRUE(unescape_json_string("a\\\"b\\/\\b\\f\\n\\r\\t\\/", out));
  EXPECT_EQ(out, "a\"b/\b\f\n\r\t/");
  ASSERT_TRUE(unescape_json_string("\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\u0000", out));
  EXPECT_EQ(out, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"s + '\0');
  EXPECT_FALSE(unescape_json_string("\\ud800", out)) << "a lone high surrogate";
  EXPECT_FALSE(unescape_json_string("\\udc00", out)) << "a lone low surrogate";
  EXPECT_FALSE(unescape_json_string("\\ud800\\u0041", out));
  EXPECT_FALSE(unescape_json_string("\\", out)) << "cut after a backslash";
  EXPECT_FALSE(unescape_json_string("\\u12", out)) << "cut inside an escape";
  EXPECT_EQ(json_hex4("00e9"), 0xe9);
  EXPECT_EQ(json_hex4("FFFF"), 0xffff);
  EXPECT_EQ(json_hex4("12g4"), -1);
  EXPECT_EQ(json_hex4("123"), -1);
}

}  // namespace
}  // namespace wsa
