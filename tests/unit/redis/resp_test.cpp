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

// --redis-max-reply-bytes: what a broken or hostile Redis can make the reader hold.

resp_reader::result feed_and_read(resp_reader& r, const std::string& bytes, resp_view& v) {
  if (!r.feed(bytes.data(), bytes.size())) {
    return resp_reader::result::error;
  }
  return r.next(v);
}

TEST(resp_reader, a_bulk_string_announced_past_the_limit_is_refused_before_it_is_whole) {
  resp_reader r;
  r.set_max_reply_bytes(64 * 1024);
  resp_view v;
  // A bulk string may announce up to 512 MB; we stop once the buffered part passes ours.
  ASSERT_EQ(feed_and_read(r, "$400000000\r\n", v), resp_reader::result::none);
  const std::string chunk(16 * 1024, 'x');
  resp_reader::result last = resp_reader::result::none;
  int chunks = 0;
  while (last == resp_reader::result::none && chunks < 100) {
    last = feed_and_read(r, chunk, v);
    ++chunks;
  }
  EXPECT_EQ(last, resp_reader::result::error);
  EXPECT_TRUE(r.too_large());
  EXPECT_LE(chunks, 5) << "refused once the buffered part passed 64 KiB";
  EXPECT_NE(std::string(r.error_text()).find("--redis-max-reply-bytes"), std::string::npos);
  // Sticky, then a fresh connection reads again.
  EXPECT_FALSE(r.feed("+OK\r\n", 5));
  r.reset();
  EXPECT_FALSE(r.too_large());
  ASSERT_EQ(feed_and_read(r, "+OK\r\n", v), resp_reader::result::reply);
  EXPECT_EQ(v.str(), "OK");
}

TEST(resp_reader, a_huge_array_count_is_refused_from_its_header_alone) {
  resp_reader r;
  r.set_max_reply_bytes(1024 * 1024);
  resp_view v;
  // Without a limit this header alone would make the reader allocate 8 GiB of slots.
  EXPECT_EQ(feed_and_read(r, "*2147483647\r\n", v), resp_reader::result::error);
  EXPECT_TRUE(r.too_large());
  r.reset();
  // Within the limit, nested arrays of many small elements are fine...
  std::string ok = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) {
    ok += ":" + std::to_string(i) + "\r\n";
  }
  ASSERT_EQ(feed_and_read(r, ok, v), resp_reader::result::reply);
  EXPECT_EQ(v.size(), 1000u);
  EXPECT_EQ(v[999].integer(), 999);
  // ...and an array whose elements add up past it is refused part way, however cut.
  std::string big = "*100000\r\n";
  for (int i = 0; i < 100000; ++i) {
    big += "$3\r\nabc\r\n";
  }
  for (std::size_t piece : {big.size(), std::size_t{4096}, std::size_t{7}}) {
    r.reset();
    resp_reader::result last = resp_reader::result::none;
    for (std::size_t at = 0; at < big.size() && last == resp_reader::result::none;
         at += piece) {
      last = feed_and_read(r, big.substr(at, piece), v);
    }
    EXPECT_EQ(last, resp_reader::result::error) << "fed in pieces of " << piece;
    EXPECT_TRUE(r.too_large()) << "fed in pieces of " << piece;
  }
}

TEST(resp_reader, a_status_line_without_its_end_is_bounded_too) {
  resp_reader r;
  r.set_max_reply_bytes(64 * 1024);
  resp_view v;
  ASSERT_EQ(feed_and_read(r, "+", v), resp_reader::result::none);
  const std::string chunk(16 * 1024, 'y');  // no CRLF ever comes
  resp_reader::result last = resp_reader::result::none;
  for (int i = 0; i < 100 && last == resp_reader::result::none; ++i) {
    last = feed_and_read(r, chunk, v);
  }
  EXPECT_EQ(last, resp_reader::result::error);
  EXPECT_TRUE(r.too_large());
}

TEST(resp_reader, replies_just_under_the_limit_pass_in_any_cut) {
  // A 60,000-byte string costs its bytes and one node: under 64 KiB whole or cut.
  const std::string reply = "$60000\r\n" + std::string(60000, 'z') + "\r\n+OK\r\n";
  for (std::size_t piece : {reply.size(), std::size_t{1000}, std::size_t{1}}) {
    resp_reader r;
    r.set_max_reply_bytes(64 * 1024);
    resp_view v;
    int replies = 0;
    for (std::size_t at = 0; at < reply.size(); at += piece) {
      const std::string part = reply.substr(at, piece);
      ASSERT_TRUE(r.feed(part.data(), part.size()));
      for (;;) {
        const resp_reader::result got = r.next(v);
        ASSERT_NE(got, resp_reader::result::error) << r.error_text();
        if (got == resp_reader::result::none) {
          break;
        }
        ++replies;
      }
    }
    EXPECT_EQ(replies, 2) << "fed in pieces of " << piece;
  }
}

}  // namespace
}  // namespace wsa
