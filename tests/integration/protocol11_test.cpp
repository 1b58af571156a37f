// Protocol 1.1 additions against the real binary (docs/protocol.md "Version 1.1 additions"),
// on one node (embedded broker, two shards) and on two nodes sharing a real Redis: every
// answer must be the same whichever node gives it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <string>
#include <vector>

#include "integration/redis_nodes.h"
#include "support/metrics_reader.h"
#include "support/process_probe.h"

namespace wsa::test {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The features `hello` lists.
std::vector<std::string> features_of(const ws_client& c) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < c.hello().size("/features"); ++i) {
    out.push_back(c.hello().str("/features/" + std::to_string(i)));
  }
  return out;
}

bool lists(const std::vector<std::string>& features, std::string_view name) {
  return std::find(features.begin(), features.end(), name) != features.end();
}

// `{"op":"pub","id":<id>,"tag":<tag>,"data":<data>,"idem":<key>}`.
std::string idem_pub(std::string_view tag, uint64_t id, std::string_view data,
                     std::string_view key) {
  std::string frame = pub_frame(tag, id, data);
  frame.pop_back();
  return frame + R"(,"idem":)" + json_quote(key) + "}";
}

http_response api_publish(uint16_t port, std::string_view body) {
  return http_exchange(port, "POST /api/publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                                 std::string(body));
}

// Publishes a fence on `tag` and reads `c` up to it: the messages of `tag` that came first.
std::vector<json_message> until_fence(ws_client& c, ws_client& publisher, std::string_view tag) {
  const json_message ok = publisher.call(pub_frame(tag, 9999, R"("fence")"));
  EXPECT_EQ(ok.op(), "ok") << ok.text();
  std::vector<json_message> got;
  for (;;) {
    json_message m = c.wait_for("msg");
    if (m.raw("data") == R"("fence")") {
      return got;
    }
    got.push_back(std::move(m));
  }
}

// ---- ts ----

TEST(Protocol11, HelloListsTheFeaturesThisServerImplements) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  const std::vector<std::string> features = features_of(c);
  EXPECT_TRUE(lists(features, "ts")) << c.hello().text();
  EXPECT_TRUE(lists(features, "gap")) << c.hello().text();
  EXPECT_TRUE(lists(features, "pattern-since")) << c.hello().text();
}

TEST(Protocol11, TsIsThePublishTimeInOkMsgAndEveryReplay) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client sub = ws_client::connect(server.port());
  ws_client pub = ws_client::connect(server.port());
  ASSERT_EQ(sub.call(R"({"op":"sub","id":1,"tags":["time.a"]})").op(), "ok");
  const int64_t before = now_ms();
  std::vector<int64_t> acked;
  for (int i = 1; i <= 5; ++i) {
    const json_message ok = pub.call(pub_frame("time.a", i, std::to_string(i)));
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    acked.push_back(ok.i64("/ts"));
  }
  const int64_t after = now_ms();
  for (std::size_t k = 0; k < acked.size(); ++k) {
    EXPECT_GE(acked[k], before - 1000);
    EXPECT_LE(acked[k], after + 1000);
    if (k > 0) {
      EXPECT_GE(acked[k], acked[k - 1]) << "ts never decreases as seq grows";
    }
    const json_message m = sub.wait_for("msg");
    EXPECT_EQ(m.u64("/seq"), k + 1);
    EXPECT_EQ(m.i64("/ts"), acked[k]) << m.text();
  }
  // A replay carries the same time, from another shard's connection too.
  for (int round = 0; round < 2; ++round) {
    ws_client late = ws_client::connect(server.port());
    ASSERT_EQ(late.call(R"({"op":"sub","id":2,"tags":["time.a"],"since":{"time.a":0}})").op(),
              "ok");
    for (std::size_t k = 0; k < acked.size(); ++k) {
      const json_message m = late.wait_for("msg");
      EXPECT_EQ(m.i64("/ts"), acked[k]) << m.text();
    }
  }
  // The publish API answers it too.
  const http_response api = api_publish(server.port(), R"({"tag":"time.a","data":6})");
  ASSERT_EQ(api.status, 200) << api.body;
  const json_message answer(api.body);
  EXPECT_EQ(answer.u64("/seq"), 6u);
  EXPECT_EQ(sub.wait_for("msg").i64("/ts"), answer.i64("/ts"));
}

// ---- idem ----

TEST(Protocol11, IdemRepeatAnswersTheFirstSeqAndTsWithDupAndPublishesNothing) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client sub = ws_client::connect(server.port());
  ws_client pub = ws_client::connect(server.port());
  ws_client other = ws_client::connect(server.port());
  EXPECT_TRUE(lists(features_of(pub), "idem"));
  ASSERT_EQ(sub.call(R"({"op":"sub","id":1,"tags":["idem.a","idem.b"]})").op(), "ok");

  const json_message first = pub.call(idem_pub("idem.a", 1, R"("one")", "order-17"));
  ASSERT_EQ(first.op(), "ok") << first.text();
  EXPECT_FALSE(first.has("/dup")) << first.text();
  // The same key again, from another connection (on either shard) and over HTTP.
  for (ws_client* c : {&pub, &other}) {
    const json_message again = c->call(idem_pub("idem.a", 2, R"("two")", "order-17"));
    ASSERT_EQ(again.op(), "ok") << again.text();
    EXPECT_EQ(again.u64("/seq"), first.u64("/seq"));
    EXPECT_EQ(again.i64("/ts"), first.i64("/ts"));
    EXPECT_EQ(again.raw("dup"), "true") << again.text();
  }
  const http_response api =
      api_publish(server.port(), R"({"tag":"idem.a","data":3,"idem":"order-17"})");
  ASSERT_EQ(api.status, 200) << api.body;
  const json_message api_answer(api.body);
  EXPECT_EQ(api_answer.u64("/seq"), first.u64("/seq"));
  EXPECT_EQ(api_answer.raw("dup"), "true") << api.body;
  // The key is per tag: another tag publishes; another key publishes.
  EXPECT_FALSE(pub.call(idem_pub("idem.b", 3, R"("b")", "order-17")).has("/dup"));
  EXPECT_EQ(pub.call(idem_pub("idem.a", 4, R"("next")", "order-18")).u64("/seq"),
            first.u64("/seq") + 1);

  const std::vector<json_message> got = until_fence(sub, pub, "idem.a");
  std::vector<std::string> datas;
  for (const json_message& m : got) {
    if (m.str("/tag") == "idem.a") {
      datas.push_back(std::string(m.raw("data")));
    }
  }
  EXPECT_EQ(datas, (std::vector<std::string>{R"("one")", R"("next")"}));
  EXPECT_EQ(metric_sum(server.port(), "wsagent_idem_duplicates_total"), 3u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_idem_keys"), 3u);
}

TEST(Protocol11, IdemKeysAreCheckedAndBounded) {
  server_process server({"--no-auth", "--idempotency-max-keys", "2"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  for (const std::string& bad : {std::string(R"("")"), '"' + std::string(65, 'k') + '"',
                                 std::string(R"("a\u0001b")"), std::string("17")}) {
    const json_message r = c.call(R"({"op":"pub","id":5,"tag":"idem.c","data":1,"idem":)" +
                                  bad + "}");
    EXPECT_EQ(r.op(), "err") << bad;
    EXPECT_EQ(r.str("/code"), "bad_request") << r.text();
  }
  EXPECT_EQ(c.call(idem_pub("idem.c", 6, "1", std::string(64, '~'))).op(), "ok");
  EXPECT_EQ(api_publish(server.port(), R"({"tag":"idem.c","data":1,"idem":""})").status, 400);
  // Three keys in a table of two: the first is forgotten before its window ends (counted),
  // so its repeat is published again; the last two are still known.
  const uint64_t k1 = c.call(idem_pub("idem.d", 7, "1", "k1")).u64("/seq");
  c.call(idem_pub("idem.d", 8, "2", "k2"));
  c.call(idem_pub("idem.d", 9, "3", "k3"));
  EXPECT_TRUE(c.call(idem_pub("idem.d", 10, "3", "k3")).has("/dup"));
  const json_message again = c.call(idem_pub("idem.d", 11, "1", "k1"));
  EXPECT_FALSE(again.has("/dup")) << again.text();
  EXPECT_GT(again.u64("/seq"), k1);
  EXPECT_GE(metric_sum(server.port(), "wsagent_idem_evictions_total"), 2u);
  EXPECT_LE(metric_sum(server.port(), "wsagent_idem_keys"), 2u);
}

TEST(Protocol11, IdemKeyIsForgottenAfterTheWindow) {
  server_process server({"--no-auth", "--idempotency-window", "1s"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  const uint64_t first = c.call(idem_pub("idem.w", 1, "1", "w")).u64("/seq");
  EXPECT_TRUE(c.call(idem_pub("idem.w", 2, "1", "w")).has("/dup"));
  std::this_thread::sleep_for(1500ms);
  const json_message later = c.call(idem_pub("idem.w", 3, "1", "w"));
  EXPECT_FALSE(later.has("/dup")) << later.text();
  EXPECT_EQ(later.u64("/seq"), first + 1);
}

// ---- "mode":"latest" ----

// Reads `c` until the msg of `tag` whose data is `last`; returns the seqs received.
std::vector<uint64_t> read_until_data(ws_client& c, std::string_view tag, std::string_view last,
                                      std::chrono::milliseconds timeout = 15s) {
  std::vector<uint64_t> seqs;
  for (;;) {
    const json_message m = c.wait_for("msg", timeout);
    EXPECT_EQ(m.str("/tag"), tag) << m.text();
    EXPECT_TRUE(seqs.empty() || m.u64("/seq") > seqs.back()) << "in seq order: " << m.text();
    seqs.push_back(m.u64("/seq"));
    if (m.raw("data") == last) {
      return seqs;
    }
  }
}

TEST(Protocol11, LatestSendsTheNewestValueAtMostOncePerIntervalNeverAQueue) {
  server_process server({"--no-auth", "--shards", "2", "--max-outbound-bytes", "64KiB"});
  ASSERT_TRUE(server.start());
  ws_client board = ws_client::connect(server.port());
  ws_client pub = ws_client::connect(server.port());
  EXPECT_TRUE(lists(features_of(board), "latest"));
  for (const std::string bad :
       {R"("mode":"latest")", R"("mode":"latest","interval_ms":9)",
        R"("mode":"latest","interval_ms":60001)", R"("mode":"fast","interval_ms":100)",
        R"("mode":"latest","interval_ms":"100")"}) {
    const json_message r = board.call(R"({"op":"sub","id":1,"tags":["board.t"],)" + bad + "}");
    EXPECT_EQ(r.str("/code"), "bad_request") << bad << " " << r.text();
  }
  ASSERT_EQ(board.call(R"({"op":"sub","id":2,"tags":["board.t"],"mode":"latest",)"
                       R"("interval_ms":200})")
                .op(),
            "ok");
  // A publisher far faster than the interval; the board does not read meanwhile. 3000
  // messages of 1 KiB are 45 times the board's outbound limit: in mode all it would be
  // closed with 4008.
  const std::string pad(1000, 'x');
  const int64_t rss_before = rss_kib(server.pid());
  constexpr int count = 3000;
  for (int i = 1; i <= count; ++i) {
    pub.send_text(R"({"op":"pub","tag":"board.t","data":{"n":)" + std::to_string(i) +
                  R"(,"pad":")" + pad + "\"}}");
  }
  const int64_t rss_after = rss_kib(server.pid());
  const std::string last = R"({"n":)" + std::to_string(count) + R"(,"pad":")" + pad + "\"}";
  const std::vector<uint64_t> seqs = read_until_data(board, "board.t", last);
  EXPECT_LT(seqs.size(), static_cast<std::size_t>(count / 10)) << "conflated";
  EXPECT_EQ(seqs.back(), static_cast<uint64_t>(count));
  // Still open (never 4008), and nothing more was queued behind the last value.
  EXPECT_EQ(board.call(R"({"op":"ping","id":3})").op(), "ok");
  EXPECT_EQ(board.kept(), 0u);
  EXPECT_GT(metric_sum(server.port(), "wsagent_conflated_total"), 0u);
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "memory flat (KiB)";
  // Later values keep coming, at most one per interval.
  EXPECT_EQ(pub.call(pub_frame("board.t", 4, R"("after")")).op(), "ok");
  EXPECT_EQ(read_until_data(board, "board.t", R"("after")").size(), 1u);
}

TEST(Protocol11, LatestOnAPatternIsPerTagAndAnAllSubscriptionWins) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  ws_client pub = ws_client::connect(server.port());
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["fleet.>"],"mode":"latest",)"
                   R"("interval_ms":60000})")
                .op(),
            "ok");
  ASSERT_EQ(c.call(R"({"op":"sub","id":2,"tags":["fleet.b"]})").op(), "ok");  // every one
  for (int i = 1; i <= 5; ++i) {
    for (const char* tag : {"fleet.a", "fleet.b", "fleet.c"}) {
      EXPECT_EQ(pub.call(pub_frame(tag, i, std::to_string(i))).op(), "ok");
    }
  }
  // fleet.b: all five; fleet.a and fleet.c: the first at once (nothing sent before), then
  // nothing more within the minute.
  std::map<std::string, std::vector<std::string>> got;
  while (got["fleet.b"].size() < 5) {
    const json_message m = c.wait_for("msg");
    got[m.str("/tag")].push_back(std::string(m.raw("data")));
  }
  EXPECT_EQ(got["fleet.b"], (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(got["fleet.a"], (std::vector<std::string>{"1"}));
  EXPECT_EQ(got["fleet.c"], (std::vector<std::string>{"1"}));
  EXPECT_EQ(metric_sum(server.port(), "wsagent_conflation_tags"), 2u);  // fleet.a, fleet.c
  // A later sub of the pattern in mode all: the held-back values are not sent late.
  ASSERT_EQ(c.call(R"({"op":"sub","id":3,"tags":["fleet.>"]})").op(), "ok");
  EXPECT_EQ(metric_sum(server.port(), "wsagent_conflation_tags"), 0u);
  EXPECT_EQ(pub.call(pub_frame("fleet.a", 9, "6")).op(), "ok");
  const json_message next = c.wait_for("msg");
  EXPECT_EQ(next.raw("data"), "6") << next.text();
  EXPECT_EQ(next.u64("/seq"), 6u);
}

class Protocol11Redis : public two_redis_nodes {
 protected:
  Protocol11Redis() : two_redis_nodes("p11-secret") {}
};

TEST_F(Protocol11Redis, TsIsRedisTimeTheSameOnEveryNodeAndReplay) {
  start_nodes();
  ws_client on_a = ws_client::connect(a_->port());
  ws_client on_b = ws_client::connect(b_->port());
  EXPECT_TRUE(lists(features_of(on_a), "ts"));
  ASSERT_EQ(on_a.call(R"({"op":"sub","id":1,"tags":["time.r","time.>"]})").op(), "ok");
  ASSERT_EQ(on_b.call(R"({"op":"sub","id":1,"tags":["time.r"]})").op(), "ok");
  std::vector<int64_t> acked;
  const int64_t before = now_ms();
  for (int i = 1; i <= 6; ++i) {
    ws_client& from = i % 2 == 0 ? on_a : on_b;
    const json_message ok = from.call(pub_frame("time.r", 10 + i, std::to_string(i)));
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    acked.push_back(ok.i64("/ts"));
    EXPECT_GE(ok.i64("/ts"), before - 60000) << "Redis' clock, the same machine here";
    if (acked.size() > 1) {
      EXPECT_GE(acked.back(), acked[acked.size() - 2]);
    }
  }
  for (ws_client* c : {&on_a, &on_b}) {
    for (std::size_t k = 0; k < acked.size(); ++k) {
      const json_message m = c->wait_for("msg");
      EXPECT_EQ(m.u64("/seq"), k + 1);
      EXPECT_EQ(m.i64("/ts"), acked[k]) << m.text();
    }
  }
  for (server_process* node : {a_.get(), b_.get()}) {
    ws_client late = ws_client::connect(node->port());
    ASSERT_EQ(late.call(R"({"op":"sub","id":2,"tags":["time.r"],"since":{"time.r":2}})").op(),
              "ok");
    for (std::size_t k = 2; k < acked.size(); ++k) {
      const json_message m = late.wait_for("msg");
      EXPECT_EQ(m.u64("/seq"), k + 1);
      EXPECT_EQ(m.i64("/ts"), acked[k]) << m.text();
    }
  }
}

TEST_F(Protocol11Redis, IdemRetryOnTheOtherNodeAfterADroppedConnectionIsADup) {
  start_nodes();
  ws_client sub = ws_client::connect(b_->port());
  ASSERT_EQ(sub.call(R"({"op":"sub","id":1,"tags":["idem.r"]})").op(), "ok");
  {
    // The publisher's connection to node A is gone before its ok could be read.
    ws_client lost = ws_client::connect(a_->port());
    lost.send_text(idem_pub("idem.r", 1, R"("once")", "payment-42"));
    lost.socket().close();
  }
  const json_message delivered = sub.wait_for("msg");
  ASSERT_EQ(delivered.raw("data"), R"("once")");
  // It retries on node B, and a backend retries over HTTP on node A.
  ws_client retry = ws_client::connect(b_->port());
  const json_message again = retry.call(idem_pub("idem.r", 2, R"("once")", "payment-42"));
  ASSERT_EQ(again.op(), "ok") << again.text();
  EXPECT_EQ(again.u64("/seq"), delivered.u64("/seq"));
  EXPECT_EQ(again.i64("/ts"), delivered.i64("/ts"));
  EXPECT_EQ(again.raw("dup"), "true") << again.text();
  const http_response api =
      api_publish(a_->port(), R"({"tag":"idem.r","data":"once","idem":"payment-42"})");
  ASSERT_EQ(api.status, 200) << api.body;
  EXPECT_EQ(json_message(api.body).u64("/seq"), delivered.u64("/seq"));
  EXPECT_NE(api.body.find(R"("dup":true)"), std::string::npos) << api.body;
  EXPECT_TRUE(until_fence(sub, retry, "idem.r").empty()) << "published once";
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_idem_duplicates_total") +
                metric_sum(a_->port(), "wsagent_idem_duplicates_total"),
            2u);
}

TEST_F(Protocol11Redis, LatestAcrossNodesEndsOnTheNewestValue) {
  start_nodes();
  ws_client board = ws_client::connect(b_->port());
  ws_client pub = ws_client::connect(a_->port());
  ASSERT_EQ(board.call(R"({"op":"sub","id":1,"tags":["board.r"],"mode":"latest",)"
                       R"("interval_ms":100})")
                .op(),
            "ok");
  for (int i = 1; i <= 500; ++i) {
    pub.send_text(pub_frame("board.r", i, std::to_string(i)));
  }
  EXPECT_EQ(pub.call(pub_frame("board.r", 501, "501")).op(), "ok");
  const std::vector<uint64_t> seqs = read_until_data(board, "board.r", "501");
  EXPECT_LT(seqs.size(), 500u);
  EXPECT_EQ(seqs.back(), 501u);
}

}  // namespace
}  // namespace wsa::test
