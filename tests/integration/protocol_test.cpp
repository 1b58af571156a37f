// Protocol v1 against the real server (docs/protocol.md "Frames", docs/protocol.md choices):
// hello, ok/err with and without id, sub/unsub/pub, wildcards, data pass-through, recovery
// with `since`, and every error code that a client without auth can provoke.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

// Messages up to and including the first whose `tag` is `last_tag`.
std::vector<json_message> msgs_until(ws_client& client, std::string_view last_tag) {
  std::vector<json_message> got;
  for (;;) {
    got.push_back(client.wait_for("msg"));
    if (got.back().str("/tag") == last_tag) {
      return got;
    }
  }
}

// A round trip that proves everything the server sent before it has arrived: the
// connection's replies and deliveries are queued in order.
void expect_nothing_else(ws_client& client, std::string_view id = "999") {
  const json_message reply =
      client.call("{\"op\":\"ping\",\"id\":" + std::string(id) + "}");
  EXPECT_EQ(reply.op(), "ok") << reply.text();
  EXPECT_EQ(client.kept(), 0u) << "unexpected: " << client.next_json().text();
}

TEST(Protocol, HelloIsTheFirstFrameWithNodeConnAndVersion) {
  server_process server({"--no-auth", "--node-id", "node-under-test"});
  ASSERT_TRUE(server.start());
  ws_client a = ws_client::connect(server.port());
  ws_client b = ws_client::connect(server.port());
  EXPECT_EQ(a.hello().str("/node"), "node-under-test");
  EXPECT_EQ(a.hello().str("/version"), "0.1.0");
  EXPECT_FALSE(a.hello().str("/conn").empty());
  EXPECT_NE(a.hello().str("/conn"), b.hello().str("/conn")) << "conn ids must differ";
}

TEST(Protocol, SubprotocolIsOptional) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port(), {.offer_subprotocol = false});
  EXPECT_EQ(c.hello().op(), "hello");
  EXPECT_FALSE(c.handshake_response().has_header("Sec-WebSocket-Protocol"));
}

TEST(Protocol, PingAnswersOnlyWithAnIdAndEchoesItByteForByte) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  c.send_text(R"({"op":"ping"})");
  c.send_text(R"({"op":"ping","id":"abc \u00e9"})");
  json_message first = c.next_json();
  EXPECT_EQ(first.op(), "ok");
  EXPECT_EQ(first.raw("id"), R"("abc \u00e9")") << "a ping without id must get nothing";

  c.send_text(R"({"op":"ping","id":123456789012345678901234567890})");
  EXPECT_EQ(c.next_json().raw("id"), "123456789012345678901234567890");
  c.send_text(R"({"id":0,"op":"ping"})");  // field order is free
  EXPECT_EQ(c.next_json().raw("id"), "0");
}

TEST(Protocol, SubThenPubDeliversWithSeqAndEpoch) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client sub = ws_client::connect(server.port());
  ws_client pub = ws_client::connect(server.port());

  json_message ok = sub.call(R"({"op":"sub","id":1,"tags":["chat.lobby","sensors.*"]})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.u64("/seq/chat.lobby"), 0u);
  EXPECT_EQ(ok.str("/epoch/chat.lobby"), server.epoch());
  EXPECT_EQ(ok.size("/seq"), 1u) << "patterns have no seq: " << ok.text();
  EXPECT_FALSE(ok.has("/gaps"));

  for (uint64_t n = 1; n <= 3; ++n) {
    json_message pub_ok =
        pub.call(R"({"op":"pub","id":"p)" + std::to_string(n) +
                 R"(","tag":"chat.lobby","data":{"n":)" + std::to_string(n) + "}}");
    ASSERT_EQ(pub_ok.op(), "ok") << pub_ok.text();
    EXPECT_EQ(pub_ok.u64("/seq"), n);
  }
  for (uint64_t n = 1; n <= 3; ++n) {
    json_message m = sub.next_json();
    ASSERT_EQ(m.op(), "msg") << m.text();
    EXPECT_EQ(m.str("/tag"), "chat.lobby");
    EXPECT_EQ(m.u64("/seq"), n);
    EXPECT_EQ(m.raw("data"), "{\"n\":" + std::to_string(n) + "}");
  }
  expect_nothing_else(pub);  // the publisher is not subscribed: no msg for it

  // A later sub of the same tag reports the current top.
  ws_client late = ws_client::connect(server.port());
  EXPECT_EQ(late.call(R"({"op":"sub","id":2,"tags":["chat.lobby"]})").u64("/seq/chat.lobby"),
            3u);
}

TEST(Protocol, PubWithoutIdGetsNoOkButIsDelivered) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["t"]})").op(), "ok");
  c.send_text(R"({"op":"pub","tag":"t","data":1})");
  json_message m = c.wait_for("msg");
  EXPECT_EQ(m.u64("/seq"), 1u);
  expect_nothing_else(c);
}

TEST(Protocol, UnsubStopsDelivery) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["a.b","x.>"]})").op(), "ok");
  json_message ok = c.call(R"({"op":"unsub","id":2,"tags":["a.b","x.>","never.held"]})");
  EXPECT_EQ(ok.op(), "ok") << ok.text();
  ws_client pub = ws_client::connect(server.port());
  EXPECT_EQ(pub.call(R"({"op":"pub","id":3,"tag":"a.b","data":1})").op(), "ok");
  EXPECT_EQ(pub.call(R"({"op":"pub","id":4,"tag":"x.y","data":1})").op(), "ok");
  expect_nothing_else(c);
}

TEST(Protocol, SubAndUnsubWithoutIdAreSilentButTakeEffect) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  c.send_text(R"({"op":"sub","tags":["q"]})");
  c.send_text(R"({"op":"pub","tag":"q","data":"first"})");
  json_message m = c.next_json();  // no ok before it
  ASSERT_EQ(m.op(), "msg") << m.text();
  EXPECT_EQ(m.raw("data"), R"("first")");
  c.send_text(R"({"op":"unsub","tags":["q"]})");
  c.send_text(R"({"op":"pub","tag":"q","data":"second"})");
  expect_nothing_else(c);
}

TEST(Protocol, SubOfPatternsOnlyAnswersEmptyPositions) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  const json_message ok = c.call(R"({"op":"sub","id":1,"tags":["a.*","b.>"]})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.size("/seq"), 0u) << ok.text();
  EXPECT_EQ(ok.size("/epoch"), 0u) << ok.text();
}

TEST(Protocol, WildcardsMatchSegmentsAndDeliverOncePerConnection) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client sub = ws_client::connect(server.port());
  json_message ok = sub.call(R"({"op":"sub","id":1,"tags":["s.*","n.>","o.x","o.*","o.>"]})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.size("/seq"), 1u) << ok.text();  // only o.x is exact

  ws_client pub = ws_client::connect(server.port());
  // One publisher on one shard: deliveries keep the publishing order.
  for (const char* tag : {"s.a", "s.a.b", "s", "n", "n.x", "n.x.y", "o.x", "o.y.z", "other",
                          "sx.a", "s.end"}) {
    pub.send_text(std::string(R"({"op":"pub","tag":")") + tag + R"(","data":0})");
  }
  std::vector<std::string> tags;
  for (const json_message& m : msgs_until(sub, "s.end")) {
    tags.push_back(m.str("/tag"));
  }
  EXPECT_EQ(tags, (std::vector<std::string>{"s.a", "n.x", "n.x.y", "o.x", "o.y.z", "s.end"}));
  expect_nothing_else(sub);
}

TEST(Protocol, DataPassesThroughByteForByte) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["d"]})").op(), "ok");
  const std::vector<std::string> values = {
      R"({ "k" :	[1 , 2.50e+3,"\u00e9\ud83d\ude00" ,"é😀"] ,
 "n":null,"esc":"\"\\\/\b\f\n\r\t" })",
      R"("just a string")",
      "123456789012345678901234567890123",
      "-0.0",
      "1E400",
      "true",
      "[]",
      "{}",
      R"([[[[{"deep":[[[]]]}]]]])",
      R"("\u0000 nul")",
  };
  for (const std::string& value : values) {
    c.send_text(R"({"op":"pub","tag":"d","data":)" + value + "}");
    json_message m = c.wait_for("msg");
    EXPECT_EQ(m.raw("data"), value) << m.text();
  }
  // Whitespace around the value and between fields is not part of `data`.
  c.send_text("{ \"op\" : \"pub\" ,\n \"data\" :  [ 1 ]  , \"tag\":\"d\" }");
  EXPECT_EQ(c.wait_for("msg").raw("data"), "[ 1 ]");
}

TEST(Protocol, SinceReplaysMissedMessagesThenLive) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client pub = ws_client::connect(server.port());
  for (int n = 1; n <= 5; ++n) {
    pub.send_text(R"({"op":"pub","tag":"r","data":)" + std::to_string(n) + "}");
  }
  ASSERT_EQ(pub.call(R"({"op":"pub","id":0,"tag":"r","data":6})").u64("/seq"), 6u);

  ws_client c = ws_client::connect(server.port());
  c.send_text(R"({"op":"sub","id":1,"tags":["r"],"since":{"r":3}})");
  json_message ok = c.next_json();  // ok comes before the replay
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.u64("/seq/r"), 6u);
  EXPECT_FALSE(ok.has("/gaps")) << ok.text();
  for (uint64_t n = 4; n <= 6; ++n) {
    json_message m = c.next_json();
    ASSERT_EQ(m.op(), "msg") << m.text();
    EXPECT_EQ(m.u64("/seq"), n);
    EXPECT_EQ(m.raw("data"), std::to_string(n));
  }
  pub.send_text(R"({"op":"pub","tag":"r","data":7})");
  EXPECT_EQ(c.next_json().u64("/seq"), 7u);
  expect_nothing_else(c);
}

TEST(Protocol, SinceWithMatchingEpochReplaysWithoutGaps) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  for (int n = 1; n <= 4; ++n) {
    c.send_text(R"({"op":"pub","tag":"e","data":)" + std::to_string(n) + "}");
  }
  c.send_text(R"({"op":"sub","id":1,"tags":["e"],"since":{"e":{"seq":2,"epoch":")" +
              server.epoch() + "\"}}}");
  json_message ok = c.next_json();
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_FALSE(ok.has("/gaps")) << ok.text();
  EXPECT_EQ(c.next_json().u64("/seq"), 3u);
  EXPECT_EQ(c.next_json().u64("/seq"), 4u);
  expect_nothing_else(c);
}

TEST(Protocol, GapsWhenHistoryDoesNotReachBackOrEpochDiffers) {
  server_process server({"--no-auth", "--history-size", "3"});
  ASSERT_TRUE(server.start());
  ws_client pub = ws_client::connect(server.port());
  for (int n = 1; n <= 5; ++n) {
    pub.send_text(R"({"op":"pub","tag":"h","data":)" + std::to_string(n) + "}");
  }
  ASSERT_EQ(pub.call(R"({"op":"ping","id":0})").op(), "ok");

  struct scenario {
    std::string since;
    bool gap;
    uint64_t first_replayed;  // history keeps 3..5
  };
  const std::string other_epoch = server.epoch() == "00000000" ? "11111111" : "00000000";
  const std::vector<scenario> scenarios = {
      {"1", true, 3},                                                   // trimmed
      {"2", false, 3},                                                  // exactly reaches back
      {"4", false, 5},
      {"5", false, 6},                                                  // up to date
      {"9", true, 3},                                                   // above the top
      {R"({"seq":3,"epoch":")" + other_epoch + "\"}", true, 3},         // epoch changed
      {R"({"seq":3,"epoch":")" + server.epoch() + "\"}", false, 4},
  };
  for (const scenario& s : scenarios) {
    SCOPED_TRACE("since " + s.since);
    ws_client c = ws_client::connect(server.port());
    c.send_text(R"({"op":"sub","id":1,"tags":["h"],"since":{"h":)" + s.since + "}}");
    json_message ok = c.next_json();
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_EQ(ok.u64("/seq/h"), 5u);
    EXPECT_EQ(ok.has("/gaps"), s.gap) << ok.text();
    if (s.gap) {
      EXPECT_EQ(ok.str("/gaps/0"), "h");
    }
    for (uint64_t n = s.first_replayed; n <= 5; ++n) {
      json_message m = c.next_json();
      ASSERT_EQ(m.op(), "msg") << m.text();
      EXPECT_EQ(m.u64("/seq"), n);
    }
    expect_nothing_else(c);
  }
}

TEST(Protocol, WithoutHistoryOnlyAnUpToDateSinceHasNoGap) {
  server_process server({"--no-auth", "--history-size", "0"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  for (int n = 1; n <= 3; ++n) {
    c.send_text(R"({"op":"pub","tag":"n","data":)" + std::to_string(n) + "}");
  }
  ASSERT_EQ(c.call(R"({"op":"ping","id":0})").op(), "ok");
  json_message ok = c.call(R"({"op":"sub","id":1,"tags":["n"],"since":{"n":3}})");
  EXPECT_EQ(ok.u64("/seq/n"), 3u);
  EXPECT_FALSE(ok.has("/gaps")) << ok.text();
  ws_client behind = ws_client::connect(server.port());
  ok = behind.call(R"({"op":"sub","id":1,"tags":["n"],"since":{"n":2}})");
  EXPECT_TRUE(ok.has("/gaps")) << ok.text();
  expect_nothing_else(behind);  // nothing retained to replay
}

TEST(Protocol, ResubscribingWithSinceReplaysAndStaysOneSubscription) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["t"]})").op(), "ok");
  for (int n = 1; n <= 3; ++n) {
    c.send_text(R"({"op":"pub","tag":"t","data":)" + std::to_string(n) + "}");
    EXPECT_EQ(c.wait_for("msg").u64("/seq"), static_cast<uint64_t>(n));
  }
  json_message ok = c.call(R"({"op":"sub","id":2,"tags":["t"],"since":{"t":1}})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(c.next_json().u64("/seq"), 2u);
  EXPECT_EQ(c.next_json().u64("/seq"), 3u);
  // A plain repeat reports the position and replays nothing.
  EXPECT_EQ(c.call(R"({"op":"sub","id":3,"tags":["t"]})").u64("/seq/t"), 3u);
  c.send_text(R"({"op":"pub","tag":"t","data":4})");
  EXPECT_EQ(c.next_json().u64("/seq"), 4u);
  expect_nothing_else(c);  // seq 4 came once
}

TEST(Protocol, TagsAreJsonStringsEscapesIncluded) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  // The tag is the decoded string: "t\u0041" is "tA", and a backslash or quote in a tag
  // comes back escaped.
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["tA","q.*","b\\s","d\"q"]})").op(), "ok");
  c.send_text(R"({"op":"pub","tag":"t\u0041","data":1})");
  EXPECT_EQ(c.wait_for("msg").str("/tag"), "tA");
  c.send_text(R"({"op":"pub","tag":"q\u002ex","data":2})");
  EXPECT_EQ(c.wait_for("msg").str("/tag"), "q.x");
  c.send_text(R"({"op":"pub","tag":"b\\s","data":3})");
  EXPECT_EQ(c.wait_for("msg").str("/tag"), "b\\s");
  c.send_text(R"({"op":"pub","tag":"d\"q","data":4})");
  EXPECT_EQ(c.wait_for("msg").str("/tag"), "d\"q");
  c.send_text(R"({"op":"pub","id":5,"tag":"caf\u00e9","data":1})");  // not ASCII
  EXPECT_EQ(c.next_json().str("/code"), "bad_tag");
  expect_nothing_else(c);
}

TEST(Protocol, IdIsAnIntegerOrAString) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  EXPECT_EQ(c.call(R"({"op":"ping","id":-3})").raw("id"), "-3");
  const std::string longest = "\"" + std::string(126, 'i') + "\"";  // 128 bytes with quotes
  EXPECT_EQ(c.call(R"({"op":"ping","id":)" + longest + "}").raw("id"), longest);
  for (const char* id : {"1.5", "null", "true", "{\"a\":1}", "[1]"}) {
    SCOPED_TRACE(id);
    c.send_text(std::string(R"({"op":"ping","id":)") + id + "}");
    const json_message err = c.next_json();
    EXPECT_EQ(err.op(), "err") << err.text();
    EXPECT_EQ(err.str("/code"), "bad_request");
  }
}

struct bad_request_case {
  std::string frame;
  std::string code;
  std::string id;  // raw id expected in the err, empty for none
};

TEST(Protocol, ErrorsCarryTheCodeAndIdAndKeepTheConnection) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  const std::string long_tag(256, 'a');
  const std::vector<bad_request_case> cases = {
      {R"({"op":)", "bad_request", ""},
      {"not json", "bad_request", ""},
      {R"([1,2])", "bad_request", ""},
      {R"("op")", "bad_request", ""},
      {R"({"id":1})", "bad_request", "1"},  // no op
      {R"({"op":"dance","id":2})", "bad_request", "2"},
      {R"({"op":"dance"})", "bad_request", ""},
      {R"({"op":7,"id":3})", "bad_request", "3"},
      {R"({"op":"ping","id":4} x)", "bad_request", ""},
      {"\xEF\xBB\xBF{\"op\":\"ping\",\"id\":5}", "bad_request", ""},
      {R"({"op":"ping","op":"ping","id":6})", "bad_request", "6"},
      {R"({"op":"ping","id":")" + std::string(129, 'x') + "\"}", "bad_request", ""},
      {R"({"op":"sub","id":7})", "bad_request", "7"},            // no tags
      {R"({"op":"pub","id":8,"tag":"t"})", "bad_request", "8"},  // no data
      {R"({"op":"pub","id":9,"tag":"a..b","data":1})", "bad_tag", "9"},
      {R"({"op":"pub","id":10,"tag":"a.*","data":1})", "bad_tag", "10"},
      {R"({"op":"pub","id":11,"tag":"a.>","data":1})", "bad_tag", "11"},
      {R"({"op":"pub","id":12,"tag":"with space","data":1})", "bad_tag", "12"},
      {R"({"op":"pub","id":13,"tag":"","data":1})", "bad_tag", "13"},
      {R"({"op":"pub","id":14,"tag":")" + long_tag + R"(","data":1})", "bad_tag", "14"},
      {R"({"op":"pub","tag":".a","data":1})", "bad_tag", ""},  // fire-and-forget still errs
      {R"({"op":"sub","id":15,"tags":["a*b"]})", "bad_tag", "15"},
      {R"({"op":"sub","id":16,"tags":["a.>.b"]})", "bad_tag", "16"},
      {R"({"op":"sub","id":17,"tags":["ok.tag","bad tag"]})", "bad_tag", "17"},
      {R"({"op":"unsub","id":18,"tags":["a."]})", "bad_tag", "18"},
  };
  for (const bad_request_case& k : cases) {
    SCOPED_TRACE(k.frame);
    c.send_text(k.frame);
    json_message err = c.next_json();
    ASSERT_EQ(err.op(), "err") << err.text();
    EXPECT_EQ(err.str("/code"), k.code) << err.text();
    EXPECT_FALSE(err.str("/reason").empty());
    if (k.id.empty()) {
      EXPECT_FALSE(err.has("/id")) << err.text();
    } else {
      EXPECT_EQ(err.raw("id"), k.id) << err.text();
    }
  }
  // The refused sub changed nothing: ok.tag is not subscribed.
  c.send_text(R"({"op":"pub","tag":"ok.tag","data":1})");
  // 255 bytes is the longest tag.
  const std::string longest(255, 'b');
  EXPECT_EQ(c.call(R"({"op":"pub","id":20,"tag":")" + longest + R"(","data":1})").op(), "ok");
  expect_nothing_else(c);
}

TEST(Protocol, BinaryFramesAreRefusedWithBadRequest) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  c.send_binary(R"({"op":"ping","id":1})");
  json_message err = c.next_json();
  EXPECT_EQ(err.op(), "err");
  EXPECT_EQ(err.str("/code"), "bad_request");
  expect_nothing_else(c);  // still open
}

TEST(Protocol, TooManyTagsRefusesTheWholeSub) {
  server_process server({"--no-auth", "--max-tags-per-connection", "3"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["a","b.*"]})").op(), "ok");
  json_message err = c.call(R"({"op":"sub","id":2,"tags":["c","d"]})");
  ASSERT_EQ(err.op(), "err") << err.text();
  EXPECT_EQ(err.str("/code"), "bad_request");
  // Repeats of held tags do not count; nothing of the refused request was added.
  EXPECT_EQ(c.call(R"({"op":"sub","id":3,"tags":["a","b.*","c","c"]})").op(), "ok");
  c.send_text(R"({"op":"pub","tag":"d","data":1})");
  c.send_text(R"({"op":"pub","tag":"c","data":1})");
  EXPECT_EQ(c.wait_for("msg").str("/tag"), "c");
  expect_nothing_else(c);
  // Unsubscribing frees room.
  ASSERT_EQ(c.call(R"({"op":"unsub","id":4,"tags":["a"]})").op(), "ok");
  EXPECT_EQ(c.call(R"({"op":"sub","id":5,"tags":["d"]})").op(), "ok");
}

}  // namespace
}  // namespace wsa::test
