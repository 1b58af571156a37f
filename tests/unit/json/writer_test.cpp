// Tests of the server frame writer: exact bytes of every frame, escaping, the exact size of
// msg frames, and that everything written parses back (simdjson DOM) to what went in.
#include "json/writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "json/command.h"

namespace wsa {
namespace {

// Parses `json` with the DOM parser, failing the test if it is not JSON.
simdjson::dom::element parse_back(simdjson::dom::parser& dom, const std::string& json) {
  simdjson::dom::element root;
  EXPECT_EQ(dom.parse(json).get(root), simdjson::SUCCESS) << json;
  return root;
}

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(json_writer, string_escaping) {
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("chat.lobby"), R"("chat.lobby")");
  EXPECT_EQ(json_string(R"(a"b\c/d)"), R"("a\"b\\c/d")");
  EXPECT_EQ(json_string(std::string_view("\0\x01\b\t\n\f\r\x1f\x7f", 9)),
            R"("\u0000\u0001\u0008\u0009\u000a\u000c\u000d\u001f)" "\x7f\"");
  EXPECT_EQ(json_string("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");

  // Every byte below 0x80 round-trips through a validating parser.
  std::string all;
  for (int c = 0; c < 0x80; ++c) {
    all.push_back(static_cast<char>(c));
  }
  const std::string written = json_string(all);
  EXPECT_EQ(written.size(), json_string_size(all));
  simdjson::dom::parser dom;
  std::string_view back;
  ASSERT_EQ(parse_back(dom, written).get_string().get(back), simdjson::SUCCESS);
  EXPECT_EQ(back, all);
}

TEST(json_writer, appends_to_existing_content) {
  std::string out = "x";
  append_json_string(out, "a\"");
  EXPECT_EQ(out, R"(x"a\"")");
}

TEST(json_writer, hello) {
  std::string out;
  append_hello(out, "n1", "c-7f3a", "0.1.0", R"(["ts"])");
  EXPECT_EQ(out,
            R"({"op":"hello","node":"n1","conn":"c-7f3a","version":"0.1.0","features":["ts"]})");
  out.clear();
  append_hello(out, "n\"1", "c", "v", "[]");
  EXPECT_EQ(out, R"({"op":"hello","node":"n\"1","conn":"c","version":"v","features":[]})");
}

TEST(json_writer, ok) {
  std::string out;
  append_ok(out, "5");
  EXPECT_EQ(out, R"({"op":"ok","id":5})");
  out.clear();
  append_ok(out, R"("req-\"1")");
  EXPECT_EQ(out, R"({"op":"ok","id":"req-\"1"})");
  out.clear();
  append_ok(out, "");
  EXPECT_EQ(out, R"({"op":"ok"})");
}

TEST(json_writer, ok_pub) {
  std::string out;
  append_ok_pub(out, "4", 58, 1764950400123);
  EXPECT_EQ(out, R"({"op":"ok","id":4,"seq":58,"ts":1764950400123})");
  out.clear();
  append_ok_pub(out, "", UINT64_MAX, 0);
  EXPECT_EQ(out, R"({"op":"ok","seq":18446744073709551615,"ts":0})");
  out.clear();
  append_ok_pub(out, "-1", 0, -5);
  EXPECT_EQ(out, R"({"op":"ok","id":-1,"seq":0,"ts":0})");
  out.clear();
  append_ok_pub(out, "9", 3, 12, true);
  EXPECT_EQ(out, R"({"op":"ok","id":9,"seq":3,"ts":12,"dup":true})");
}

TEST(json_writer, publish_result) {
  std::string out;
  append_publish_result(out, 58, 1764950400123);
  EXPECT_EQ(out, R"({"seq":58,"ts":1764950400123})");
  out.clear();
  append_publish_result(out, UINT64_MAX, -5, true);
  EXPECT_EQ(out, R"({"seq":18446744073709551615,"ts":0,"dup":true})");
}

TEST(json_writer, ok_sub) {
  std::string out;
  const sub_ack_entry one[] = {{"chat.lobby", 57, "9f2c", false}};
  append_ok_sub(out, "2", one);
  EXPECT_EQ(out, R"({"op":"ok","id":2,"seq":{"chat.lobby":57},"epoch":{"chat.lobby":"9f2c"}})");

  out.clear();
  const sub_ack_entry three[] = {
      {"a", 1, "e1", true}, {"b", 0, "e2", false}, {"c\"q", 10, "e3", true}};
  append_ok_sub(out, R"("s")", three);
  EXPECT_EQ(out,
            R"({"op":"ok","id":"s","seq":{"a":1,"b":0,"c\"q":10},)"
            R"("epoch":{"a":"e1","b":"e2","c\"q":"e3"},"gaps":["a","c\"q"]})");
  simdjson::dom::parser dom;
  const auto root = parse_back(dom, out);
  uint64_t seq = 0;
  ASSERT_EQ(root["seq"]["c\"q"].get_uint64().get(seq), simdjson::SUCCESS);
  EXPECT_EQ(seq, 10u);
  simdjson::dom::array gaps;
  ASSERT_EQ(root["gaps"].get_array().get(gaps), simdjson::SUCCESS);
  EXPECT_EQ(gaps.size(), 2u);

  // Patterns only: no exact tag, the same shape with empty objects.
  out.clear();
  append_ok_sub(out, "3", {});
  EXPECT_EQ(out, R"({"op":"ok","id":3,"seq":{},"epoch":{}})");
  parse_back(dom, out);

  // A pattern past --max-recovery-tags: in gaps only (protocol 1.1).
  out.clear();
  const sub_ack_entry pattern[] = {{"s.a", 4, "e1", false}, {"s.>", 0, "", true, true}};
  append_ok_sub(out, "4", pattern);
  EXPECT_EQ(out, R"({"op":"ok","id":4,"seq":{"s.a":4},"epoch":{"s.a":"e1"},"gaps":["s.>"]})");
  parse_back(dom, out);
}

TEST(json_writer, err) {
  std::string out;
  append_err(out, "4", "forbidden", "no publish permission for chat.lobby");
  EXPECT_EQ(out,
            R"({"op":"err","id":4,"code":"forbidden","reason":"no publish permission for chat.lobby"})");
  out.clear();
  append_err(out, "", "bad_request", "line\nbreak \"quoted\"");
  EXPECT_EQ(out, R"({"op":"err","code":"bad_request","reason":"line\u000abreak \"quoted\""})");
  simdjson::dom::parser dom;
  std::string_view reason;
  ASSERT_EQ(parse_back(dom, out)["reason"].get_string().get(reason), simdjson::SUCCESS);
  EXPECT_EQ(reason, "line\nbreak \"quoted\"");
}

// write_msg_json into a heap buffer of exactly msg_json_size bytes (ASan catches any overrun).
std::string msg(std::string_view tag, uint64_t seq, std::string_view data, int64_t ts = 7) {
  const std::size_t size = msg_json_size(tag, seq, ts, data);
  auto buf = std::make_unique<char[]>(size);
  char* end = write_msg_json(buf.get(), tag, seq, ts, data);
  EXPECT_EQ(static_cast<std::size_t>(end - buf.get()), size);
  return std::string(buf.get(), size);
}

TEST(json_writer, msg_exact_bytes) {
  EXPECT_EQ(msg("chat.lobby", 58, R"({"text":"hi"})", 1764950400123),
            R"({"op":"msg","tag":"chat.lobby","seq":58,"ts":1764950400123,"data":{"text":"hi"}})");
  EXPECT_EQ(msg("a", 0, "null", 0), R"({"op":"msg","tag":"a","seq":0,"ts":0,"data":null})");
  EXPECT_EQ(msg("a", 1, "1", -3), R"({"op":"msg","tag":"a","seq":1,"ts":0,"data":1})");
  EXPECT_EQ(msg(R"(q"b\s)", 7, R"({ "a" : 1 })"),
            R"({"op":"msg","tag":"q\"b\\s","seq":7,"ts":7,"data":{ "a" : 1 }})");
}

TEST(json_writer, msg_size_is_exact_and_parses_back) {
  std::vector<uint64_t> seqs = {0, UINT64_MAX, UINT64_MAX - 1};
  for (uint64_t p = 1; p <= UINT64_MAX / 10; p *= 10) {
    seqs.push_back(p - 1);
    seqs.push_back(p);
    seqs.push_back(p + 1);
  }
  seqs.push_back(10000000000000000000ull);
  const char* tags[] = {"t", "chat.lobby", R"(a"b)", R"(a\b)", R"(x.">.*)", ""};
  const char* datas[] = {"1", R"("s\"")", "[1,2,{}]", "{\n \"k\" : [true, false]\n}", "-1.5e-3"};
  simdjson::dom::parser dom;
  simdjson::dom::parser data_dom;
  for (uint64_t seq : seqs) {
    for (const char* tag : tags) {
      for (const char* data : datas) {
        const std::string frame = msg(tag, seq, data);
        const std::string expected = R"({"op":"msg","tag":)" + json_string(tag) +
                                     R"(,"seq":)" + std::to_string(seq) +
                                     R"(,"ts":7,"data":)" +
                                     data + "}";
        ASSERT_EQ(frame, expected);
        const auto root = parse_back(dom, frame);
        std::string_view back_tag;
        uint64_t back_seq = 0;
        ASSERT_EQ(root["tag"].get_string().get(back_tag), simdjson::SUCCESS);
        ASSERT_EQ(root["seq"].get_uint64().get(back_seq), simdjson::SUCCESS);
        EXPECT_EQ(back_tag, tag);
        EXPECT_EQ(back_seq, seq);
        const std::string back_data = simdjson::minify(root["data"]);
        EXPECT_EQ(back_data, simdjson::minify(parse_back(data_dom, std::string(data))));
      }
    }
  }
}

// A pub's `data` as the command parser hands it on comes out of msg byte for byte.
TEST(json_writer, pub_data_round_trip) {
  command_parser parser(4096);
  command cmd;
  parse_error err;
  std::string frame =
      "{\"op\":\"pub\",\"tag\":\"chat\\u002elobby\",\"data\": {\"t\" : \"h\\u00e9\" , \"n\":[ 1 ]} }";
  const std::size_t size = frame.size();
  frame.resize(size + json_padding());
  ASSERT_TRUE(parser.parse(frame.data(), size, frame.size(), cmd, err)) << err.reason;
  EXPECT_EQ(msg(cmd.tag, 9, cmd.data),
            R"({"op":"msg","tag":"chat.lobby","seq":9,"ts":7,)"
            R"("data":{"t" : "h\u00e9" , "n":[ 1 ]}})");
}

}  // namespace
}  // namespace wsa
