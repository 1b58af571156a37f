// Protocol 1.1 additions against the real binary (docs/protocol.md "Version 1.1 additions"),
// on one node (embedded broker, two shards) and on two nodes sharing a real Redis: every
// answer must be the same whichever node gives it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "integration/redis_nodes.h"

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

// ---- ts ----

TEST(Protocol11, HelloListsTheFeaturesThisServerImplements) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  const std::vector<std::string> features = features_of(c);
  EXPECT_TRUE(lists(features, "ts")) << c.hello().text();
  EXPECT_TRUE(lists(features, "gap")) << c.hello().text();
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
  const std::string body = R"({"tag":"time.a","data":6})";
  const http_response api = http_exchange(
      server.port(), "POST /api/publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(api.status, 200) << api.body;
  const json_message answer(api.body);
  EXPECT_EQ(answer.u64("/seq"), 6u);
  EXPECT_EQ(sub.wait_for("msg").i64("/ts"), answer.i64("/ts"));
}

class Protocol11Redis : public testing::Test {
 protected:
  void start_nodes(std::vector<std::string> extra = {}) {
    ASSERT_TRUE(redis_.start());
    a_ = std::make_unique<server_process>(redis_node_args(redis_, "node-a", extra));
    b_ = std::make_unique<server_process>(redis_node_args(redis_, "node-b", extra));
    ASSERT_TRUE(start_redis_node(*a_));
    ASSERT_TRUE(start_redis_node(*b_));
  }

  redis_process redis_{{.password = std::string("p11-secret")}};
  std::unique_ptr<server_process> a_;
  std::unique_ptr<server_process> b_;
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

}  // namespace
}  // namespace wsa::test
