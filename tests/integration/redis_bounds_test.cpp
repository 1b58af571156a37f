// What clients can make a node hold in Redis is bounded (issue 8, docs/limits.md), checked
// with Redis' own counters on a real redis-server: every key wsagent creates has a TTL that
// use refreshes (TTL), a `sub` to a tag that never had a message leaves nothing permanent
// (DBSIZE), and distinct pattern subscriptions per node stop at --redis-max-patterns
// (PUBSUB NUMPAT) while every matching message is still delivered, once.
#include <gtest/gtest.h>

#include <charconv>
#include <string>
#include <thread>

#include "integration/redis_nodes.h"
#include "support/metrics_reader.h"

namespace wsa::test {
namespace {

// The integer of a ":N" reply; INT64_MIN for anything else.
int64_t integer_reply(const std::string& reply) {
  int64_t value = INT64_MIN;
  if (reply.size() > 1 && reply[0] == ':') {
    std::from_chars(reply.data() + 1, reply.data() + reply.size(), value);
  }
  return value;
}

int64_t ttl_of(const redis_process& redis, const std::string& key) {
  return integer_reply(redis.command({"TTL", key}));
}

std::string seq_key(std::string_view tag) { return "wsa:{" + std::string(tag) + "}:seq"; }
std::string log_key(std::string_view tag) { return "wsa:{" + std::string(tag) + "}:log"; }

class redis_bounds : public testing::Test {
 protected:
  void start_node(std::vector<std::string> extra) {
    ASSERT_TRUE(redis_.start());
    node_ = std::make_unique<server_process>(redis_node_args(redis_, "bounded", extra));
    ASSERT_TRUE(start_redis_node(*node_));
  }
  redis_process redis_;
  std::unique_ptr<server_process> node_;
};

TEST_F(redis_bounds, every_key_has_a_ttl_that_use_refreshes) {
  start_node({"--redis-key-ttl", "1h"});
  ws_client client = ws_client::connect(node_->port());

  // A sub to a tag without messages: its seq key exists (the epoch the client was told
  // must stay the tag's), but not for ever.
  ASSERT_EQ(client.call(R"({"op":"sub","id":1,"tags":["quiet.t"]})").op(), "ok");
  const int64_t quiet_ttl = ttl_of(redis_, seq_key("quiet.t"));
  EXPECT_GT(quiet_ttl, 3500) << redis_.command({"TTL", seq_key("quiet.t")});
  EXPECT_LE(quiet_ttl, 3601);  // the key TTL and a second (redis_scripts.h)

  // A publish: seq and history, both expiring.
  ASSERT_EQ(publish_ok(client, "busy.t", 2, R"({"n":1})"), 1u);
  for (const std::string& key : {seq_key("busy.t"), log_key("busy.t")}) {
    const int64_t ttl = ttl_of(redis_, key);
    EXPECT_GT(ttl, 3500) << key;
    EXPECT_LE(ttl, 3601) << key;
  }

  // Use refreshes it: shorten both keys' TTLs by hand, then publish / subscribe again. A
  // publish sets them at most once a second per tag (the TTL it sets outlasts the use
  // until its next setting): the next one comes a second later.
  for (const std::string& key : {seq_key("busy.t"), log_key("busy.t"), seq_key("quiet.t")}) {
    ASSERT_EQ(redis_.command({"EXPIRE", key, "100"}), ":1");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_EQ(publish_ok(client, "busy.t", 3, R"({"n":2})"), 2u);
  EXPECT_GT(ttl_of(redis_, seq_key("busy.t")), 3500);
  EXPECT_GT(ttl_of(redis_, log_key("busy.t")), 3500);
  ws_client other = ws_client::connect(node_->port());
  ASSERT_EQ(other.call(R"({"op":"sub","id":4,"tags":["quiet.t"],"since":{"quiet.t":0}})").op(),
            "ok");
  EXPECT_GT(ttl_of(redis_, seq_key("quiet.t")), 3500);

  // Nothing wsagent wrote is permanent.
  const std::string keys = redis_.command({"KEYS", "*"});
  ASSERT_NE(keys, "[]");
  std::size_t start = 1;  // "[$a,$b,...]"
  while (start < keys.size()) {
    std::size_t end = keys.find_first_of(",]", start);
    const std::string key = keys.substr(start + 1, end - start - 1);
    EXPECT_GE(ttl_of(redis_, key), 0) << key << " has no TTL";
    start = end + 1;
  }
}

TEST_F(redis_bounds, a_history_created_between_two_ttl_refreshes_expires_too) {
  // A publish sets its tag's key TTLs at most once a second (with the tag's registry
  // entry); a history created in between (here: a node that keeps none published the
  // first message, less than a second before) gets its TTL at once all the same.
  start_node({"--redis-key-ttl", "1h"});
  server_process keeps_none(
      redis_node_args(redis_, "keeps-none", {"--redis-key-ttl", "1h", "--history-size", "0"}));
  ASSERT_TRUE(start_redis_node(keeps_none));
  ws_client first = ws_client::connect(keeps_none.port());
  ws_client second = ws_client::connect(node_->port());
  ASSERT_EQ(publish_ok(first, "mixed.t", 1, "1"), 1u);
  ASSERT_EQ(redis_.command({"EXISTS", log_key("mixed.t")}), ":0");
  ASSERT_EQ(publish_ok(second, "mixed.t", 2, "2"), 2u);
  ASSERT_EQ(redis_.command({"EXISTS", log_key("mixed.t")}), ":1");
  for (const std::string& key : {seq_key("mixed.t"), log_key("mixed.t")}) {
    const int64_t ttl = ttl_of(redis_, key);
    EXPECT_GT(ttl, 3500) << key;
    EXPECT_LE(ttl, 3601) << key;
  }
}

TEST_F(redis_bounds, keys_of_unused_tags_expire_and_the_tag_starts_a_new_life) {
  start_node({"--redis-key-ttl", "1s"});
  ws_client client = ws_client::connect(node_->port());
  ASSERT_EQ(publish_ok(client, "short.t", 1, "1"), 1u);
  const json_message first = client.call(R"({"op":"sub","id":2,"tags":["short.t","never.t"]})");
  ASSERT_EQ(first.op(), "ok") << first.text();
  const std::string old_epoch = first.str("/epoch/short.t");
  ASSERT_EQ(client.call(R"({"op":"unsub","id":3,"tags":["short.t","never.t"]})").op(), "ok");

  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (redis_.command({"DBSIZE"}) != ":0" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(redis_.command({"DBSIZE"}), ":0") << "an unused tag's keys must expire";

  // The tag's next life: seq from 1, a new epoch, and a client of the old life is told.
  ASSERT_EQ(publish_ok(client, "short.t", 4, "2"), 1u);
  const json_message again = client.call(
      R"({"op":"sub","id":5,"tags":["short.t"],"since":{"short.t":{"seq":1,"epoch":")" +
      old_epoch + R"("}}})");
  ASSERT_EQ(again.op(), "ok") << again.text();
  EXPECT_NE(again.str("/epoch/short.t"), old_epoch);
  EXPECT_EQ(again.str("/gaps/0"), "short.t");
}

TEST_F(redis_bounds, pattern_subscriptions_are_capped_and_still_deliver_once) {
  start_node({"--redis-max-patterns", "4"});
  ws_client subscriber = ws_client::connect(node_->port());
  ws_client bystander = ws_client::connect(node_->port());
  ws_client publisher = ws_client::connect(node_->port());
  constexpr int patterns = 40;
  std::string list;
  for (int i = 0; i < patterns; ++i) {
    list += (i == 0 ? "\"p" : ",\"p") + std::to_string(i) + ".*\"";
  }
  const json_message ok = subscriber.call(R"({"op":"sub","id":1,"tags":[)" + list + "]}");
  ASSERT_EQ(ok.op(), "ok") << ok.text();

  const int64_t numpat = integer_reply(redis_.command({"PUBSUB", "NUMPAT"}));
  EXPECT_GE(numpat, 1);
  EXPECT_LE(numpat, 4) << "40 distinct patterns, --redis-max-patterns 4";
  EXPECT_LE(metric_sum(node_->port(), "wsagent_redis_pattern_subscriptions"), 4u);
  EXPECT_GE(metric_sum(node_->port(), "wsagent_redis_patterns_coalesced"), 36u);

  // Every pattern still gets what matches it, once; nothing else arrives.
  for (int i = 0; i < patterns; ++i) {
    const std::string tag = "p" + std::to_string(i) + ".x";
    ASSERT_EQ(publish_ok(publisher, tag, 100 + i, std::to_string(i)), 1u);
    ASSERT_EQ(publish_ok(publisher, "q" + std::to_string(i) + ".x", 200 + i, "0"), 1u);
    ASSERT_EQ(publish_ok(publisher, "p" + std::to_string(i) + ".x.y", 300 + i, "0"), 1u);
    const json_message m = subscriber.wait_for("msg");
    EXPECT_EQ(m.str("/tag"), tag);
    EXPECT_EQ(m.raw("data"), std::to_string(i));
  }
  EXPECT_EQ(subscriber.call(R"({"op":"ping","id":2})").op(), "ok");
  EXPECT_EQ(subscriber.kept(), 0u) << subscriber.next_json().text();
  EXPECT_EQ(bystander.call(R"({"op":"ping","id":3})").op(), "ok");

  // Unsubscribing gives every PSUBSCRIBE back.
  ASSERT_EQ(subscriber.call(R"({"op":"unsub","id":4,"tags":[)" + list + "]}").op(), "ok");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (redis_.command({"PUBSUB", "NUMPAT"}) != ":0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(redis_.command({"PUBSUB", "NUMPAT"}), ":0");
  EXPECT_EQ(metric_sum(node_->port(), "wsagent_redis_patterns_coalesced"), 0u);
}

}  // namespace
}  // namespace wsa::test
