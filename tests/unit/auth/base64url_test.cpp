// Strict base64url: RFC 4648 test vectors in the URL-safe alphabet, and every way a
// non-canonical or padded or junk-trailed text must fail.
#include "auth/base64url.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsa {
namespace {

TEST(auth_base64url, rfc4648_vectors_round_trip) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [bin, text] : vectors) {
    EXPECT_EQ(base64url_encode(bin), text);
    EXPECT_EQ(base64url_encoded_len(bin.size()), text.size());
    std::string back;
    ASSERT_TRUE(base64url_decode(text, back)) << text;
    EXPECT_EQ(back, bin);
  }
}

TEST(auth_base64url, url_safe_alphabet) {
  const std::string bin = "\xfb\xff\xbf";  // standard base64 "+/+/"
  EXPECT_EQ(base64url_encode(bin), "-_-_");
  std::string back;
  ASSERT_TRUE(base64url_decode("-_-_", back));
  EXPECT_EQ(back, bin);
  EXPECT_FALSE(base64url_decode("+/+/", back));
}

TEST(auth_base64url, every_byte_value_round_trips) {
  std::string bin;
  for (int i = 0; i < 256; ++i) {
    bin += static_cast<char>(i);
  }
  for (std::size_t len = 0; len <= bin.size(); len += 1) {
    const std::string part = bin.substr(0, len);
    const std::string text = base64url_encode(part);
    EXPECT_EQ(text.find('='), std::string::npos);
    std::string back;
    ASSERT_TRUE(base64url_decode(text, back));
    EXPECT_EQ(back, part);
  }
}

TEST(auth_base64url, refuses_padding_whitespace_and_junk) {
  std::string out;
  for (const char* bad : {"Zg==", "Zm8=", "Zm9v=", "Zm 9v", " Zm9v", "Zm9v ", "Zm9v\n",
                          "Zm9v.", "Zm9v!", "Zm9v\x80", "Z"}) {
    EXPECT_FALSE(base64url_decode(bad, out)) << '"' << bad << '"';
  }
  // A text length of 1 mod 4 never encodes whole bytes.
  EXPECT_FALSE(base64url_decode("Zm9vY", out));
  EXPECT_FALSE(base64url_decode(std::string("Zm\0v", 4), out));
}

TEST(auth_base64url, refuses_non_canonical_trailing_bits) {
  // "Zg" is 'f'; "Zh" carries the same byte with non-zero unused bits: two texts, one value.
  std::string out;
  EXPECT_TRUE(base64url_decode("Zg", out));
  EXPECT_FALSE(base64url_decode("Zh", out));
  EXPECT_FALSE(base64url_decode("Zm9", out));  // "Zm8" is "fo"
  EXPECT_TRUE(base64url_decode("Zm8", out));
}

TEST(auth_base64url, buffer_decode_respects_capacity) {
  unsigned char buf[3];
  std::size_t len = 99;
  EXPECT_TRUE(base64url_decode("Zm9v", buf, sizeof buf, len));
  EXPECT_EQ(len, 3u);
  EXPECT_FALSE(base64url_decode("Zm9vYg", buf, sizeof buf, len));
  EXPECT_TRUE(base64url_decode("", buf, 0, len));
  EXPECT_EQ(len, 0u);
  EXPECT_GE(base64url_decoded_max(6), 4u);
  EXPECT_GE(base64url_decoded_max(7), 5u);
  EXPECT_GE(base64url_decoded_max(86), 64u);
}

TEST(auth_base64url, append_keeps_prefix) {
  std::string s = "x.";
  const unsigned char b[] = {'f', 'o', 'o'};
  base64url_append(b, s);
  EXPECT_EQ(s, "x.Zm9v");
  base64url_append(std::span<const unsigned char>(), s);
  EXPECT_EQ(s, "x.Zm9v");
}

}  // namespace
}  // namespace wsa
