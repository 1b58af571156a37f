// RESP encoding and reply parsing: the writer's exact bytes, the reader on replies split at
// every byte, nested arrays, binary strings, pipelined replies and sticky errors.
#include <gtest/gtest.h>

#include <string>

#include "redis/resp_reader.h"
#include "redis/resp_writer.h"

namespace wsa {
namespace {

TEST(resp_writer, command_is_an_array_of_bulk_strings) {
  std::string out;
  resp_command(out, {"SET", "key", ""});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n");
}

TEST(resp_writer, integers_and_binary_arguments) {
  std::string out;
  resp_array(out, 3);
  resp_bulk(out, uint64_t{0});
  resp_bulk(out, uint64_t{18446744073709551615u});
  resp_bulk(out, std::string_view("a\r\n\0b", 5));
  using namespace std::string_literals;
  EXPECT_EQ(out, "*3\r\n$1\r\n0\r\n$20\r\n18446744073709551615\r\n$5\r\na\r\n\0b\r\n"s);
  EXPECT_EQ(resp_bulk_size(5), 11u);
  EXPECT_EQ(resp_bulk_size(1234567890), 1234567890u + 15);
}

TEST(resp_writer, concatenated_argument) {
  std::string out;
  resp_bulk_concat(out, {"wsa:{", "chat.lobby", "}:log"});
  EXPECT_EQ(out, "$20\r\nwsa:{chat.lobby}:log\r\n");
}

TEST(resp_writer, appends_without_touching_what_is_there) {
  std::string out = "X";
  resp_command(out, {"PING"});
  EXPECT_EQ(out, "X*1\r\n$4\r\nPING\r\n");
}

// The replies of a typical pipelined exchange, every type once, nested two deep.
const std::string pipeline =
    "+OK\r\n"
    ":-42\r\n"
    "$5\r\nhe\r\nl\r\n"
    "$-1\r\n"
    "-NOSCRIPT No matching script\r\n"
    "*3\r\n$7\r\nmessage\r\n$5\r\nwsa:a\r\n$0\r\n\r\n"
    "*2\r\n:7\r\n*2\r\n*-1\r\n*0\r\n";

std::string render(resp_view v) {
  switch (v.type()) {
    case resp_type::string:
      return "$" + std::string(v.str());
    case resp_type::status:
      return "+" + std::string(v.str());
    case resp_type::error:
      return "-" + std::string(v.str());
    case resp_type::integer:
      return ":" + std::to_string(v.integer());
    case resp_type::nil:
      return "nil";
    case resp_type::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        out += (i ? "," : "") + render(v[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

const std::vector<std::string> expected = {
    "+OK", ":-42", "$he\r\nl", "nil", "-NOSCRIPT No matching script", "[$message,$wsa:a,$]",
    "[:7,[nil,[]]]"};

std::vector<std::string> drain(resp_reader& reader) {
  std::vector<std::string> out;
  resp_view v;
  while (reader.next(v) == resp_reader::result::reply) {
    out.push_back(render(v));
  }
  return out;
}

TEST(resp_reader, pipelined_replies_of_every_type_in_one_feed) {
  resp_reader reader;
  ASSERT_TRUE(reader.feed(pipeline.data(), pipeline.size()));
  EXPECT_EQ(drain(reader), expected);
  resp_view v;
  EXPECT_EQ(reader.next(v), resp_reader::result::none);
}

TEST(resp_reader, replies_split_at_every_byte_come_out_whole_and_in_order) {
  for (std::size_t split = 0; split <= pipeline.size(); ++split) {
    resp_reader reader;
    std::vector<std::string> got;
    ASSERT_TRUE(reader.feed(pipeline.data(), split));
    for (auto& r : drain(reader)) {
      got.push_back(r);
    }
    ASSERT_TRUE(reader.feed(pipeline.data() + split, pipeline.size() - split));
    for (auto& r : drain(reader)) {
      got.push_back(r);
    }
    EXPECT_EQ(got, expected) << "split at " << split;
  }
}

TEST(resp_reader, byte_by_byte) {
  resp_reader reader;
  std::vector<std::string> got;
  for (char c : pipeline) {
    ASSERT_TRUE(reader.feed(&c, 1));
    for (auto& r : drain(reader)) {
      got.push_back(r);
    }
  }
  EXPECT_EQ(got, expected);
}

TEST(resp_reader, a_view_reads_a_large_binary_bulk_string_exactly) {
  std::string big(100000, 'x');
  big[5] = '\0';
  big[6] = '\r';
  std::string wire = "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  resp_reader reader;
  ASSERT_TRUE(reader.feed(wire.data(), wire.size()));
  resp_view v;
  ASSERT_EQ(reader.next(v), resp_reader::result::reply);
  EXPECT_EQ(v.str(), big);
}

TEST(resp_reader, malformed_input_is_a_sticky_error_until_reset) {
  resp_reader reader;
  ASSERT_TRUE(reader.feed("+OK\r\n!bad\r\n", 11));
  resp_view v;
  ASSERT_EQ(reader.next(v), resp_reader::result::reply);
  EXPECT_EQ(render(v), "+OK");
  EXPECT_EQ(reader.next(v), resp_reader::result::error);
  EXPECT_NE(std::string(reader.error_text()).find("Protocol error"), std::string::npos);
  EXPECT_FALSE(reader.feed("+OK\r\n", 5));
  EXPECT_EQ(reader.next(v), resp_reader::result::error);
  reader.reset();
  ASSERT_TRUE(reader.feed("+OK\r\n", 5));
  ASSERT_EQ(reader.next(v), resp_reader::result::reply);
  EXPECT_EQ(render(v), "+OK");
}

TEST(resp_reader, a_writer_command_parses_back_as_the_same_array) {
  // Redis' requests and replies share the array-of-bulk-strings form.
  std::string out;
  resp_command(out, {"EVALSHA", "abc", "2", std::string_view("\0\n", 2)});
  resp_reader reader;
  ASSERT_TRUE(reader.feed(out.data(), out.size()));
  resp_view v;
  ASSERT_EQ(reader.next(v), resp_reader::result::reply);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[3].str(), std::string_view("\0\n", 2));
}

}  // namespace
}  // namespace wsa
