// Tests of the client frame parser: every op, every refusal, field order, escapes, raw `data`
// for every JSON type, ids, limits (size, depth), hostile bytes and hostile padding.
#include "json/command.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace wsa {
namespace {

constexpr std::size_t max_frame = 16 * 1024;

class command_test : public ::testing::Test {
 protected:
  // Parses `frame` from a heap buffer of exactly size + padding bytes (so that ASan sees any
  // read past the padding), the padding filled with `pad`: its content must not matter.
  bool parse(std::string_view frame, char pad = '}') {
    size_ = frame.size();
    buf_ = std::make_unique<char[]>(frame.size() + json_padding());
    std::memcpy(buf_.get(), frame.data(), frame.size());
    std::memset(buf_.get() + frame.size(), pad, json_padding());
    return parser_.parse(buf_.get(), frame.size(), frame.size() + json_padding(), cmd_, err_);
  }

  // Parse expected to fail with bad_request; returns the reason.
  std::string refused(std::string_view frame, char pad = '}') {
    const std::string_view shown = frame.substr(0, 200);
    EXPECT_FALSE(parse(frame, pad)) << shown;
    EXPECT_STREQ(err_.code, "bad_request") << shown;
    EXPECT_NE(std::string(err_.reason), "") << shown;
    return err_.reason;
  }

  // The `data` of a pub frame carrying `data` verbatim.
  std::string data_of(std::string_view data) {
    const std::string frame = R"({"op":"pub","tag":"t","data":)" + std::string(data) + "}";
    EXPECT_TRUE(parse(frame)) << frame << ": " << err_.reason;
    return std::string(cmd_.data);
  }

  bool in_frame(std::string_view v) const {
    return v.data() >= buf_.get() && v.data() + v.size() <= buf_.get() + size_;
  }

  command_parser parser_{max_frame};
  command cmd_;
  parse_error err_;
  std::unique_ptr<char[]> buf_;
  std::size_t size_ = 0;
};

TEST_F(command_test, ping) {
  ASSERT_TRUE(parse(R"({"op":"ping","id":5})"));
  EXPECT_EQ(cmd_.op, op_kind::ping);
  EXPECT_EQ(cmd_.id, "5");
  ASSERT_TRUE(parse(R"({"op":"ping"})"));
  EXPECT_EQ(cmd_.op, op_kind::ping);
  EXPECT_EQ(cmd_.id, "");
}

TEST_F(command_test, auth) {
  ASSERT_TRUE(parse(R"({"op":"auth","id":1,"token":"eyJ.abc.def"})"));
  EXPECT_EQ(cmd_.op, op_kind::auth);
  EXPECT_EQ(cmd_.id, "1");
  EXPECT_EQ(cmd_.token, "eyJ.abc.def");
  EXPECT_TRUE(in_frame(cmd_.token));  // no escape: a view into the frame
}

TEST_F(command_test, sub_and_unsub) {
  ASSERT_TRUE(parse(R"({"op":"sub","id":2,"tags":["chat.lobby","sensors.*"]})"));
  EXPECT_EQ(cmd_.op, op_kind::sub);
  EXPECT_EQ(cmd_.tags, (std::vector<std::string_view>{"chat.lobby", "sensors.*"}));
  EXPECT_TRUE(cmd_.since.empty());
  ASSERT_TRUE(parse(R"({"op":"unsub","id":3,"tags":["sensors.*"]})"));
  EXPECT_EQ(cmd_.op, op_kind::unsub);
  EXPECT_EQ(cmd_.tags, (std::vector<std::string_view>{"sensors.*"}));
  // Tag syntax is the server's business (bad_tag), not the parser's.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["", "a..b", "x y"]})"));
  EXPECT_EQ(cmd_.tags.size(), 3u);
  refused(R"({"op":"sub","tags":["a":1]})");
  refused(R"({"op":"sub","tags":["a","b":"c"]})");
  refused(R"({"op":"auth","token":"a":"b"})");
  refused(R"({"op":"pub","tag":"a":"b","data":1})");
  refused(R"({"op":"sub","tags":["a"],"since":{"a":{"seq":1,"epoch":"x":1}}})");
  // Repeats are passed on.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a","a"]})"));
  EXPECT_EQ(cmd_.tags.size(), 2u);
}

TEST_F(command_test, sub_since_forms) {
  ASSERT_TRUE(parse(R"({"op":"sub","id":2,"tags":["a","b","c","d"],)"
                    R"("since":{"a":41,"b":{"seq":7,"epoch":"9f2c"},"c":{"seq":0},)"
                    R"("d":18446744073709551615}})"));
  ASSERT_EQ(cmd_.since.size(), 4u);
  EXPECT_EQ(cmd_.since[0].tag, "a");
  EXPECT_EQ(cmd_.since[0].seq, 41u);
  EXPECT_EQ(cmd_.since[0].epoch, "");
  EXPECT_EQ(cmd_.since[1].tag, "b");
  EXPECT_EQ(cmd_.since[1].seq, 7u);
  EXPECT_EQ(cmd_.since[1].epoch, "9f2c");
  EXPECT_EQ(cmd_.since[2].seq, 0u);
  EXPECT_EQ(cmd_.since[2].epoch, "");
  EXPECT_EQ(cmd_.since[3].seq, UINT64_MAX);
  // Order inside the object, unknown members, whitespace.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"since":{ "a" : { "epoch" : "e1" , )"
                    R"("later":[1,{"x":null}], "seq" : 3 } }})"));
  ASSERT_EQ(cmd_.since.size(), 1u);
  EXPECT_EQ(cmd_.since[0].seq, 3u);
  EXPECT_EQ(cmd_.since[0].epoch, "e1");
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"since":{}})"));
  EXPECT_TRUE(cmd_.since.empty());
  // Escaped tag in since.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a.b"],"since":{"a\u002eb":5}})"));
  ASSERT_EQ(cmd_.since.size(), 1u);
  EXPECT_EQ(cmd_.since[0].tag, "a.b");
}

TEST_F(command_test, since_refusals) {
  const char* bad[] = {
      R"("since":[])",
      R"("since":5)",
      R"("since":{"a":-1})",
      R"("since":{"a":1.0})",
      R"("since":{"a":1e3})",
      R"("since":{"a":"5"})",
      R"("since":{"a":null})",
      R"("since":{"a":18446744073709551616})",
      R"("since":{"a":{}})",
      R"("since":{"a":{"epoch":"x"}})",
      R"("since":{"a":{"seq":-1}})",
      R"("since":{"a":{"seq":"1"}})",
      R"("since":{"a":{"seq":1,"epoch":5}})",
      R"("since":{"a":{"seq":1,"seq":2}})",
      R"("since":{"a":{"seq":1,"epoch":"x","epoch":"y"}})",
  };
  for (const char* since : bad) {
    const std::string frame = R"({"op":"sub","id":9,"tags":["a"],)" + std::string(since) + "}";
    refused(frame);
    EXPECT_EQ(err_.id, "9") << frame;
  }
}

TEST_F(command_test, since_pattern_form) {
  // Protocol 1.1 "Recovery on patterns", as PROTOCOL.md writes it.
  ASSERT_TRUE(parse(R"({"op":"sub","id":9,"tags":["sensors.>"],)"
                    R"("since":{"sensors.>":{"ts":1764950400123,"tags":{"sensors.a.t":)"
                    R"({"seq":41,"epoch":"9f2c"},"sensors.b.t":7}}}})"));
  ASSERT_EQ(cmd_.since.size(), 1u);
  const since_entry& p = cmd_.since[0];
  EXPECT_EQ(p.tag, "sensors.>");
  EXPECT_TRUE(p.pattern_form);
  EXPECT_TRUE(p.has_ts);
  EXPECT_EQ(p.ts_ms, 1764950400123u);
  ASSERT_EQ(p.known_count, 2u);
  ASSERT_EQ(cmd_.since_known.size(), 2u);
  EXPECT_EQ(cmd_.since_known[p.known_begin].tag, "sensors.a.t");
  EXPECT_EQ(cmd_.since_known[p.known_begin].seq, 41u);
  EXPECT_EQ(cmd_.since_known[p.known_begin].epoch, "9f2c");
  EXPECT_EQ(cmd_.since_known[p.known_begin + 1].tag, "sensors.b.t");
  EXPECT_EQ(cmd_.since_known[p.known_begin + 1].seq, 7u);
  // Either member alone; beside exact forms; two patterns keep their own known tags.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a.*","b.>","c"],"since":{"a.*":{"ts":5},)"
                    R"("c":3,"b.>":{"tags":{"b.x":1}}}})"));
  ASSERT_EQ(cmd_.since.size(), 3u);
  EXPECT_TRUE(cmd_.since[0].pattern_form);
  EXPECT_TRUE(cmd_.since[0].has_ts);
  EXPECT_EQ(cmd_.since[0].known_count, 0u);
  EXPECT_FALSE(cmd_.since[1].pattern_form);
  EXPECT_EQ(cmd_.since[1].seq, 3u);
  EXPECT_TRUE(cmd_.since[2].pattern_form);
  EXPECT_FALSE(cmd_.since[2].has_ts);
  ASSERT_EQ(cmd_.since[2].known_count, 1u);
  EXPECT_EQ(cmd_.since_known[cmd_.since[2].known_begin].tag, "b.x");
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a.*"],"since":{"a.*":{"tags":{}}}})"));
  EXPECT_TRUE(cmd_.since[0].pattern_form);
  // Not carried into a later frame.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"since":{"a":1}})"));
  EXPECT_TRUE(cmd_.since_known.empty());
}

TEST_F(command_test, since_pattern_form_refusals) {
  const char* bad[] = {
      R"("since":{"a.*":{"ts":-1}})",
      R"("since":{"a.*":{"ts":1.5}})",
      R"("since":{"a.*":{"ts":"1"}})",
      R"("since":{"a.*":{"ts":1,"ts":2}})",
      R"("since":{"a.*":{"tags":[]}})",
      R"("since":{"a.*":{"tags":5}})",
      R"("since":{"a.*":{"tags":{"a.x":-1}}})",
      R"("since":{"a.*":{"tags":{"a.x":{}}}})",
      R"("since":{"a.*":{"tags":{"a.x":{"ts":1}}}})",
      R"("since":{"a.*":{"tags":{"a.x":{"tags":{}}}}})",
      R"("since":{"a.*":{"tags":{},"tags":{}}})",
      R"("since":{"a.*":{"ts":1,"seq":2}})",
      R"("since":{"a.*":{"tags":{},"epoch":"x"}})",
  };
  for (const char* since : bad) {
    const std::string frame =
        R"({"op":"sub","id":9,"tags":["a.*"],)" + std::string(since) + "}";
    refused(frame);
    EXPECT_EQ(err_.id, "9") << frame;
    EXPECT_STREQ(err_.code, "bad_request") << frame;
  }
}

TEST_F(command_test, pub) {
  ASSERT_TRUE(parse(R"({"op":"pub","id":4,"tag":"chat.lobby","data":{"text":"hi"}})"));
  EXPECT_EQ(cmd_.op, op_kind::pub);
  EXPECT_EQ(cmd_.id, "4");
  EXPECT_EQ(cmd_.tag, "chat.lobby");
  EXPECT_EQ(cmd_.data, R"({"text":"hi"})");
  EXPECT_TRUE(in_frame(cmd_.data));
  EXPECT_TRUE(in_frame(cmd_.tag));
  // Fire and forget: no id.
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"a","data":1})"));
  EXPECT_EQ(cmd_.id, "");
  EXPECT_EQ(cmd_.data, "1");
}

TEST_F(command_test, pub_idem) {
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"a","data":1,"idem":"order 17 \u0041"})"));
  EXPECT_EQ(cmd_.idem, "order 17 A");
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"a","data":1,"idem":")" + std::string(64, '~') +
                    R"("})"));
  EXPECT_EQ(cmd_.idem.size(), 64u);
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"a","data":1})"));
  EXPECT_EQ(cmd_.idem, "");
  refused(R"({"op":"pub","tag":"a","data":1,"idem":""})");
  refused(R"({"op":"pub","tag":"a","data":1,"idem":")" + std::string(65, 'k') + R"("})");
  refused(R"({"op":"pub","tag":"a","data":1,"idem":"a\tb"})");
  refused(R"({"op":"pub","tag":"a","data":1,"idem":"\u00e9"})");
  refused(R"({"op":"pub","tag":"a","data":1,"idem":7})");
  refused(R"({"op":"pub","tag":"a","data":1,"idem":"x","idem":"x"})");
  // Other ops ignore it (its type is still checked).
  ASSERT_TRUE(parse(R"({"op":"ping","idem":"x"})"));
  EXPECT_EQ(cmd_.idem, "");
}

TEST_F(command_test, sub_mode_latest) {
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":250})"));
  EXPECT_EQ(cmd_.interval_ms, 250u);
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"interval_ms":10,"mode":"latest"})"));
  EXPECT_EQ(cmd_.interval_ms, 10u);
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":60000})"));
  EXPECT_EQ(cmd_.interval_ms, 60000u);
  // Mode all (or none): every message, whatever interval_ms says.
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"],"mode":"all","interval_ms":5})"));
  EXPECT_EQ(cmd_.interval_ms, 0u);
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a"]})"));
  EXPECT_EQ(cmd_.interval_ms, 0u);
  refused(R"({"op":"sub","tags":["a"],"mode":"latest"})");
  refused(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":9})");
  refused(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":60001})");
  refused(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":99999999999999999999})");
  refused(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":1.5})");
  refused(R"({"op":"sub","tags":["a"],"mode":"latest","interval_ms":"100"})");
  refused(R"({"op":"sub","tags":["a"],"mode":"newest","interval_ms":100})");
  refused(R"({"op":"sub","tags":["a"],"mode":1})");
  // Other ops ignore it.
  ASSERT_TRUE(parse(R"({"op":"unsub","tags":["a"],"mode":"latest","interval_ms":100})"));
  EXPECT_EQ(cmd_.interval_ms, 0u);
}

TEST_F(command_test, fields_of_other_ops_are_cleared) {
  ASSERT_TRUE(parse(R"({"op":"ping","token":"t","tag":"x","data":[1],"tags":["a"],)"
                    R"("since":{"a":1}})"));
  EXPECT_EQ(cmd_.token, "");
  EXPECT_EQ(cmd_.tag, "");
  EXPECT_EQ(cmd_.data, "");
  EXPECT_TRUE(cmd_.tags.empty());
  EXPECT_TRUE(cmd_.since.empty());
  ASSERT_TRUE(parse(R"({"op":"unsub","tags":["a"],"since":{"a":1}})"));
  EXPECT_TRUE(cmd_.since.empty());
  // ... but a known field of the wrong type is refused whatever the op.
  refused(R"({"op":"ping","tags":5})");
}

TEST_F(command_test, field_order_does_not_matter) {
  const std::vector<std::string> members = {R"("op":"pub")", R"("id":"x")", R"("tag":"t.u")",
                                            R"("data":{"k":[1,2]})", R"("extra":{"z":1})"};
  std::vector<int> order = {0, 1, 2, 3, 4};
  int permutations = 0;
  do {
    std::string frame = "{";
    for (std::size_t i = 0; i < order.size(); ++i) {
      frame += (i ? "," : "") + members[static_cast<std::size_t>(order[i])];
    }
    frame += "}";
    ASSERT_TRUE(parse(frame)) << frame << ": " << err_.reason;
    EXPECT_EQ(cmd_.op, op_kind::pub) << frame;
    EXPECT_EQ(cmd_.id, R"("x")") << frame;
    EXPECT_EQ(cmd_.tag, "t.u") << frame;
    EXPECT_EQ(cmd_.data, R"({"k":[1,2]})") << frame;
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 120);

  ASSERT_TRUE(parse(R"({"since":{"a":3},"tags":["a"],"id":2,"op":"sub"})"));
  EXPECT_EQ(cmd_.op, op_kind::sub);
  EXPECT_EQ(cmd_.since.size(), 1u);
  ASSERT_TRUE(parse(R"({"token":"tk","op":"auth"})"));
  EXPECT_EQ(cmd_.token, "tk");
}

TEST_F(command_test, escapes_are_unescaped) {
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"chat\u002elobby","data":0})"));
  EXPECT_EQ(cmd_.tag, "chat.lobby");
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"a\"b\\c\/d","data":0})"));
  EXPECT_EQ(cmd_.tag, "a\"b\\c/d");
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["x\u002ey","plain","\u0041"]})"));
  EXPECT_EQ(cmd_.tags, (std::vector<std::string_view>{"x.y", "plain", "A"}));
  ASSERT_TRUE(parse(R"({"op":"auth","token":"a\u0062c"})"));
  EXPECT_EQ(cmd_.token, "abc");
  // Escaped keys and op values are the same keys and values.
  ASSERT_TRUE(parse(R"({"\u006fp":"p\u0075b","t\u0061g":"t","\u0064ata":true})"));
  EXPECT_EQ(cmd_.op, op_kind::pub);
  EXPECT_EQ(cmd_.tag, "t");
  EXPECT_EQ(cmd_.data, "true");
  // ... so an escaped duplicate is a duplicate.
  EXPECT_EQ(refused(R"({"op":"ping","\u006fp":"ping"})"), "duplicate field");
  // Non-ASCII after unescaping (the server's tag check refuses it, not the parser).
  ASSERT_TRUE(parse(R"({"op":"pub","tag":"\u00e9\ud83d\ude00","data":0})"));
  EXPECT_EQ(cmd_.tag, "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_F(command_test, data_passthrough_every_type) {
  const char* values[] = {
      R"("hi")",
      R"("")",
      R"("esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00")",
      "\"caf\xc3\xa9\"",
      "0",
      "-0",
      "42",
      "-17",
      "3.25",
      "-0.5e-7",
      "6.02E+23",
      "1e400",
      "123456789012345678901234567890123456789",
      "-123456789012345678901234567890.123456789e-999",
      "true",
      "false",
      "null",
      "{}",
      "[]",
      R"({ "a" : 1 })",
      R"([ 1 , 2 ,"x" ])",
      "{\n\t\"a\" :\r\n [ {}, [], {\"b\":[null,true,false]} ]\n}",
      R"({"a":{"a":{"a":"}]"}}})",
      R"(["[",{"}":"{"}])",
      R"({"a":1,"a":2})",  // duplicates inside data are the client's business
  };
  for (const char* v : values) {
    EXPECT_EQ(data_of(v), v);
    EXPECT_TRUE(in_frame(cmd_.data)) << v;
  }
}

TEST_F(command_test, data_bytes_are_exact_around_whitespace) {
  ASSERT_TRUE(parse("{\"op\":\"pub\",\"tag\":\"t\",\"data\"  :  { \"a\" : 1 }  \n ,\"id\":1}"));
  EXPECT_EQ(cmd_.data, R"({ "a" : 1 })");
  EXPECT_EQ(refused("{\"data\":\t[ 1 ]\t}"), "missing op");  // refused, but not for data
  ASSERT_TRUE(parse("{\"op\":\"pub\",\"tag\":\"t\",\"data\": \"x\" \r\n}"));
  EXPECT_EQ(cmd_.data, R"("x")");
  ASSERT_TRUE(parse("{\"op\":\"pub\",\"tag\":\"t\",\"data\": 12 }"));
  EXPECT_EQ(cmd_.data, "12");
  ASSERT_TRUE(parse("{\"op\":\"pub\",\"tag\":\"t\",\"data\":null}"));
  EXPECT_EQ(cmd_.data, "null");
}

TEST_F(command_test, invalid_data_is_refused) {
  const char* values[] = {
      R"({"a" 1})",  R"({"a":1,})",  R"({,"a":1})", R"([1,])",      R"([,1])",    R"([1 2])",
      R"({"a":1 "b":2})", R"({1:2})", R"({"a"})",  "01",  "1.",  ".5",  "-",  "+1",  "1e",
      "1e+",  "0x10",  "1x",  "NaN",  "Infinity",  "tru",  "truex",  "nul",  "nulll",  "fals",
      R"("abc"x)",  R"("\x")",  R"("\u12")",  R"("\ud800")",  R"("\udc00\ud800")",  "'a'",
      R"({"a":[}])",  R"([{]})",  R"({"a":{"b":1])",  R"(["a":1])",  R"({"a":"b":1})",
      R"("a":1)",  R"(["a","b":2])",  R"([1:2])",  R"({"a":true:1})",
  };
  for (const char* v : values) {
    const std::string frame = R"({"op":"pub","id":7,"tag":"t","data":)" + std::string(v) + "}";
    const std::string reason = refused(frame);
    EXPECT_NE(reason.find("JSON"), std::string::npos) << frame << ": " << reason;
  }
}

TEST_F(command_test, id_forms) {
  const char* good[] = {"0", "5", "-3", "123456789012345678901234567890", R"("abc")", R"("")",
                        R"("a\"b\u0041")", R"("caf)" "\xc3\xa9" R"(")"};
  for (const char* id : good) {
    const std::string frame = R"({"op":"ping","id":)" + std::string(id) + "}";
    ASSERT_TRUE(parse(frame)) << frame << ": " << err_.reason;
    EXPECT_EQ(cmd_.id, id);
    EXPECT_TRUE(in_frame(cmd_.id));
  }
  ASSERT_TRUE(parse(R"({"op":"ping","id" : 12  })"));
  EXPECT_EQ(cmd_.id, "12");
  const char* bad[] = {"1.5", "1e3", "-0.0", "true", "false", "null", "[1]", "{}", R"({"a":1})"};
  for (const char* id : bad) {
    const std::string frame = R"({"op":"ping","id":)" + std::string(id) + "}";
    EXPECT_EQ(refused(frame), "id must be an integer or a string") << frame;
    EXPECT_EQ(err_.id, "");
  }
  refused(R"({"op":"ping","id":01})");
  refused(R"({"op":"ping","id":"a":1})");
  refused(R"({"op":"ping","id":5:1})");
  refused(R"({"op":"ping","id":"\q"})");
}

TEST_F(command_test, refusals_carry_the_id) {
  struct {
    const char* frame;
    const char* reason;
    const char* id;
  } cases[] = {
      {R"({"op":"nope","id":4})", "unknown op", "4"},
      {R"({"id":"r1","op":"nope"})", "unknown op", R"("r1")"},
      {R"({"op":5,"id":4})", "op must be a string", "4"},
      {R"({"id":4})", "missing op", "4"},
      {R"({"op":"auth","id":4})", "missing token", "4"},
      {R"({"op":"auth","token":7,"id":4})", "token must be a string", "4"},
      {R"({"op":"sub","id":4})", "missing tags", "4"},
      {R"({"op":"sub","tags":[],"id":4})", "tags must be a non-empty array of strings", "4"},
      {R"({"op":"sub","tags":"a","id":4})", "tags must be a non-empty array of strings", "4"},
      {R"({"op":"sub","tags":["a",1,"b"],"id":4})", "tags must be a non-empty array of strings",
       "4"},
      {R"({"op":"sub","tags":["a",["b"]],"id":4})", "tags must be a non-empty array of strings",
       "4"},
      {R"({"op":"unsub","tags":[null],"id":4})", "tags must be a non-empty array of strings",
       "4"},
      {R"({"op":"pub","id":4,"data":1})", "missing tag", "4"},
      {R"({"op":"pub","tag":["a"],"data":1,"id":4})", "tag must be a string", "4"},
      {R"({"op":"pub","tag":"a","id":4})", "missing data", "4"},
      {R"({"op":"sub","tags":["a"],"since":[1],"id":4})", "since must be an object", "4"},
      {R"({"op":"ping","op":"ping","id":4})", "duplicate field", "4"},
      {R"({"op":"pub","tag":"a","tag":"b","data":1,"id":4})", "duplicate field", "4"},
      {R"({"op":"pub","tag":"a","data":1,"data":2,"id":4})", "duplicate field", "4"},
      {R"({"op":"auth","token":"a","token":"b","id":4})", "duplicate field", "4"},
      {R"({"op":"sub","tags":["a"],"tags":["b"],"id":4})", "duplicate field", "4"},
      // The first id counts; the second is the refusal.
      {R"({"op":"ping","id":4,"id":5})", "duplicate field", "4"},
      // After a refusal the rest is only skipped, to reach the id.
      {R"({"op":"nope","x":[1,,2],"id":4})", "unknown op", "4"},
      // Invalid JSON after the id: the id is known.
      {R"({"id":4,"op":"ping","x":[1,,2]})", "invalid JSON", "4"},
      {R"({"id":4,"op":"ping","x":tru})", "invalid JSON", "4"},
      // Invalid JSON before the id.
      {R"({"x":[1,,2],"op":"ping","id":4})", "invalid JSON", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(refused(c.frame), c.reason) << c.frame;
    EXPECT_EQ(err_.id, c.id) << c.frame;
    // A refusal leaves nothing behind.
    EXPECT_EQ(cmd_.id, "");
    EXPECT_TRUE(cmd_.tags.empty());
  }
}

TEST_F(command_test, unknown_fields_are_ignored_but_must_be_json) {
  ASSERT_TRUE(parse(R"({"op":"ping","v":2,"meta":{"a":[1,{"b":null}]},"s":"x\n","n":null,)"
                    R"("b":true,"f":-1.5e3,"arr":[],"":0,"extra":"\u00e9"})"));
  EXPECT_EQ(cmd_.op, op_kind::ping);
  refused(R"({"op":"ping","v":01})");
  refused(R"({"op":"ping","v":[1 2]})");
  refused(R"({"op":"ping","v":"\x"})");
  refused(R"({"op":"ping","v\x":1})");
  refused(R"({"op":"ping","v":nul})");
  // A field called like a since member is nothing special at the top.
  ASSERT_TRUE(parse(R"({"op":"ping","seq":"x","epoch":1})"));
}

TEST_F(command_test, frame_must_be_one_object) {
  EXPECT_EQ(refused(""), "empty frame");
  EXPECT_EQ(refused(" \n\t "), "empty frame");
  for (const char* frame : {"[]", R"(["op"])", R"("op")", "1", "null", "true"}) {
    EXPECT_EQ(refused(frame), "frame must be a JSON object") << frame;
  }
  for (const char* frame : {R"({"op":"ping"} x)", R"({"op":"ping"}})", R"({"op":"ping"}])",
                            R"({"op":"ping"}{"op":"ping"})", R"({"op":"ping"},)",
                            R"({"op":"ping"} 1)", R"({"op":"ping"}"")", R"({"op":"ping"}{})",
                            R"({"op":"ping")", R"({"op":"ping",)", R"({"op")", "{", "}", "{]",
                            R"({"op":"ping"]})", R"({"op":"ping"}] )"}) {
    refused(frame);
  }
  refused(std::string_view("{\"op\":\"ping\"}\0", 14));
  ASSERT_TRUE(parse(" \r\n\t{\"op\":\"ping\"} \r\n\t"));
}

TEST_F(command_test, frame_size_limit) {
  std::string big = R"({"op":"pub","tag":"t","data":")";
  big.append(max_frame - big.size() - 2, 'x');
  big += "\"}";
  ASSERT_EQ(big.size(), max_frame);
  ASSERT_TRUE(parse(big)) << err_.reason;
  EXPECT_EQ(cmd_.data.size(), max_frame - 30);
  big.insert(big.size() - 2, "x");
  EXPECT_FALSE(parse(big));
  EXPECT_STREQ(err_.code, "too_large");
  // A small frame after the large ones works (and sees none of their stale state).
  ASSERT_TRUE(parse(R"({"op":"ping","id":1})"));
  EXPECT_EQ(cmd_.id, "1");
}

TEST_F(command_test, missing_padding_is_an_internal_error) {
#ifdef NDEBUG
  const std::string frame = R"({"op":"ping"})";
  std::vector<char> buf(frame.begin(), frame.end());
  buf.resize(frame.size() + 8);
  EXPECT_FALSE(parser_.parse(buf.data(), frame.size(), buf.size(), cmd_, err_));
  EXPECT_STREQ(err_.code, "internal");
#else
  GTEST_SKIP() << "asserts in debug builds";
#endif
}

std::string nested(int depth, const char* open, const char* close, const char* core = "1") {
  std::string s;
  for (int i = 0; i < depth; ++i) {
    s += open;
  }
  s += core;
  for (int i = 0; i < depth; ++i) {
    s += close;
  }
  return s;
}

TEST_F(command_test, deep_nesting) {
  const std::string ok_array = nested(max_value_depth, "[", "]");
  EXPECT_EQ(data_of(ok_array), ok_array);
  const std::string ok_object = nested(max_value_depth, R"({"a":)", "}");
  EXPECT_EQ(data_of(ok_object), ok_object);

  const std::string pub = R"({"op":"pub","tag":"t","id":3,"data":)";
  EXPECT_EQ(refused(pub + nested(max_value_depth + 1, "[", "]") + "}"), "value nested too deeply");
  EXPECT_EQ(err_.id, "3");
  EXPECT_EQ(refused(pub + nested(max_value_depth + 1, R"({"a":)", "}") + "}"),
            "value nested too deeply");
  // Deeper than simdjson's own limit (1024, which on-demand does not enforce): a clean
  // refusal, not a deep recursion.
  for (const char* open : {"[", R"({"a":)", R"([{"a":)"}) {
    const char* close = open[0] == '[' && open[1] == 0 ? "]" : open[0] == '[' ? "}]" : "}";
    const std::string deep = nested(1500, open, close);
    ASSERT_LT(deep.size() + 100, max_frame);
    refused(pub + deep + "}");
    refused(R"({"op":"ping","x":)" + deep + "}");
    refused(R"({"op":"sub","tags":["a"],"since":{"a":{"x":)" + deep + "}}}");
    refused(R"({"op":"ping","id":)" + deep + "}");
    // Unbalanced: openers only, then the root's `}`, with padding that looks like closers.
    for (char pad : {'}', ']', ',', '"', ':', '{', '[', '\0', ' ', '1'}) {
      refused(pub + nested(1500, open, "", "") + "}", pad);
      refused(pub + nested(3, open, "", "") + "}", pad);
    }
  }
}

TEST_F(command_test, invalid_utf8_and_control_bytes) {
  const char* frames[] = {
      "{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"\xff\"}",
      "{\"op\":\"pub\",\"tag\":\"t\xc3\",\"data\":1}",
      "{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"\xc0\xaf\"}",          // overlong '/'
      "{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"\xed\xa0\x80\"}",      // UTF-16 surrogate
      "{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"\xf4\x90\x80\x80\"}",  // above U+10FFFF
      "{\"op\":\"ping\",\"\xfe\":1}",
      "{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"a\nb\"}",
      "{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"a\tb\"}",
      "{\"op\":\"auth\",\"token\":\"a\x01\"}",
      "{\"op\":\"ping\"}\xff",
      "\xef\xbb\xbf{\"op\":\"ping\"}",  // a BOM is not JSON whitespace
  };
  for (const char* frame : frames) {
    refused(frame);
  }
  refused(std::string_view("{\"op\":\"ping\",\"x\":\"a\0b\"}", 23));
  ASSERT_TRUE(parse("{\"op\":\"pub\",\"tag\":\"t\",\"data\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}"));
  EXPECT_EQ(cmd_.data, "\"\xe2\x82\xac\xf0\x9f\x98\x80\"");
}

TEST_F(command_test, padding_content_never_matters) {
  const char* frames[] = {
      R"({"op":"pub","tag":"t","data":[1,{"a":2}]})",
      R"({"op":"pub","tag":"t","data":[1,{"a":2})",
      R"({"op":"pub","tag":"t","data":[[{}})",
      R"({"op":"pub","tag":"t","data":{"a":[{}})",
      R"({"op":"pub","tag":"t","data":[{"a":1}})",
      R"({"op":"pub","tag":"t","data":["x"})",
      R"({"op":"sub","tags":["a","b"})",
      R"({"op":"sub","tags":["a",{}})",
      R"({"op":"nope","tags":["a",[{}})",
      R"({"op":"sub","tags":["a"],"since":{"a":{"seq":1})",
      R"({"x":[[[{}})",
      R"({"id":[[{}})",
      R"({"op":"ping"})",
  };
  for (const char* frame : frames) {
    const bool expected = parse(frame, ' ');
    for (char pad : {'}', ']', ',', '"', ':', '{', '[', '\0', '\\', '1', 't', 'n'}) {
      EXPECT_EQ(parse(frame, pad), expected) << frame << " pad " << pad;
    }
  }
}

TEST_F(command_test, views_survive_until_next_parse_and_vectors_are_reused) {
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["a\u002e1","b","c"],"since":{"a.1":1}})"));
  EXPECT_EQ(cmd_.tags[0], "a.1");
  const std::size_t tags_capacity = cmd_.tags.capacity();
  const std::size_t since_capacity = cmd_.since.capacity();
  ASSERT_TRUE(parse(R"({"op":"ping"})"));
  EXPECT_TRUE(cmd_.tags.empty());
  ASSERT_TRUE(parse(R"({"op":"sub","tags":["x","y"],"since":{"x":2}})"));
  EXPECT_EQ(cmd_.tags.capacity(), tags_capacity);
  EXPECT_EQ(cmd_.since.capacity(), since_capacity);
}

// Mutations of valid frames: the parser must never crash, and whatever it accepts must be
// JSON by simdjson's DOM parser (an independent, validating path), with `data` a JSON value.
TEST_F(command_test, mutated_frames_fuzz) {
  const std::vector<std::string> seeds = {
      R"({"op":"pub","id":4,"tag":"chat.lobby","data":{"text":"hi","n":[1,2.5,true,null]}})",
      R"({"op":"sub","id":"s","tags":["a.b","c.*"],"since":{"a.b":{"seq":3,"epoch":"e"},"x":1}})",
      R"({"op":"auth","token":"a\u0062c","id":1})",
      R"({ "op" : "unsub" , "tags" : [ "z" ] })",
  };
  const std::string alphabet = "{}[]\":,\\ 0129-.+tfnu\x80\xc3";
  std::mt19937 rng(12345);
  simdjson::dom::parser dom;
  simdjson::dom::parser data_dom;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string frame = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (frame.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 1:
          if (at < frame.size()) {
            frame.erase(at, 1);
          }
          break;
        default:
          if (at < frame.size()) {
            frame[at] = c;
          }
          break;
      }
    }
    const char pad = alphabet[rng() % alphabet.size()];
    if (!parse(frame, pad)) {
      continue;
    }
    ++accepted;
    simdjson::dom::element root;
    ASSERT_EQ(dom.parse(frame).get(root), simdjson::SUCCESS) << frame;
    ASSERT_TRUE(root.is_object()) << frame;
    // The DOM parser reads the same fields (duplicates of known fields were refused).
    if (cmd_.op == op_kind::pub) {
      ASSERT_TRUE(in_frame(cmd_.data));
      std::string_view tag;
      ASSERT_EQ(root["tag"].get_string().get(tag), simdjson::SUCCESS) << frame;
      EXPECT_EQ(cmd_.tag, tag) << frame;
      const std::string expected = simdjson::minify(root["data"]);
      simdjson::dom::element data;
      ASSERT_EQ(data_dom.parse(std::string(cmd_.data)).get(data), simdjson::SUCCESS) << frame;
      EXPECT_EQ(simdjson::minify(data), expected) << frame;
    }
    if (cmd_.op == op_kind::sub || cmd_.op == op_kind::unsub) {
      simdjson::dom::array tags;
      ASSERT_EQ(root["tags"].get_array().get(tags), simdjson::SUCCESS) << frame;
      ASSERT_EQ(tags.size(), cmd_.tags.size()) << frame;
      std::size_t n = 0;
      for (auto tag : tags) {
        EXPECT_EQ(tag.get_string().value_unsafe(), cmd_.tags[n++]) << frame;
      }
    }
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace wsa
