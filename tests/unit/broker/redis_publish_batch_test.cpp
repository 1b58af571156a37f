// A loop turn's publishes of one tag go to Redis as one batch script call
// (redis_publish.cpp): against a real redis-server, the call count, order and seqs, idem
// duplicates inside and across calls, per-message acks, a refused call failing each of its
// messages, and what another node receives (one live message per publish, as before).
#include <map>
#include <string>

#include "redis_harness.h"

namespace wsa::test {
namespace {

class redis_publish_batch_test : public redis_broker_harness {
 protected:
  /// EVALSHA calls Redis has run since its stats were last reset.
  uint64_t evalsha_calls() {
    const std::string stats = redis_->command({"INFO", "commandstats"});
    const std::string key = "cmdstat_evalsha:calls=";
    const std::size_t at = stats.find(key);
    return at == std::string::npos ? 0 : std::stoull(stats.substr(at + key.size()));
  }
};

TEST_F(redis_publish_batch_test, one_turn_of_one_tag_is_one_call_in_order_on_every_node) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  b.watch("room");
  ASSERT_TRUE(pump_until([&] { return b.ready(); }));
  pump_for(50);  // the SUBSCRIBE confirmed
  EXPECT_EQ(redis_->command({"CONFIG", "RESETSTAT"}), "+OK");
  for (int i = 0; i < 10; ++i) {
    a.publish({"room", "{\"i\":" + std::to_string(i) + "}", uint64_t(100 + i)});
  }
  a.publish({"other", "1", 200});
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 11 && rec_b.messages.size() == 10; }));
  EXPECT_EQ(evalsha_calls(), 2u);  // "room" in one call, "other" in another
  for (int i = 0; i < 10; ++i) {
    const auto& ack = rec_a.acks[static_cast<std::size_t>(i)];
    EXPECT_EQ(ack.ticket, uint64_t(100 + i));
    EXPECT_TRUE(ack.ok);
    EXPECT_FALSE(ack.dup);
    EXPECT_EQ(ack.seq, uint64_t(i + 1));
    EXPECT_EQ(ack.ts_ms, rec_a.acks[0].ts_ms);  // one TIME per call
    const auto& m = rec_b.messages[static_cast<std::size_t>(i)];
    EXPECT_EQ(m.seq, uint64_t(i + 1));
    EXPECT_EQ(m.data, "{\"i\":" + std::to_string(i) + "}");
  }
  EXPECT_EQ(rec_a.acks[10].ticket, 200u);
  EXPECT_EQ(rec_a.acks[10].seq, 1u);
  EXPECT_EQ(redis_->command({"XLEN", "wsa:{room}:log"}), ":10");
  EXPECT_EQ(redis_->command({"HGET", "wsa:{room}:seq", "s"}), "$10");
  // The history reads back in order, and the next call numbers on.
  a.publish({"room", "\"next\"", 300});
  a.publish({"room", "\"last\"", 301});
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 13; }));
  EXPECT_EQ(rec_a.acks[11].seq, 11u);
  EXPECT_EQ(rec_a.acks[12].seq, 12u);
  EXPECT_GE(rec_a.acks[11].ts_ms, rec_a.acks[0].ts_ms);
  a.query("room", since_request{true, 0, {}}, 9);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(9) != 0; }));
  EXPECT_EQ(rec_a.answers[9].seqs.size(), 12u);
  EXPECT_EQ(rec_a.answers[9].data.back(), "\"last\"");
  EXPECT_EQ(metrics_.broker_pending.get(), 0u);
}

// A call holds 64 messages at most, and a publish looks back 16 groups for its tag: a turn
// with more splits a tag into several calls, in order (redis_publish.cpp).
TEST_F(redis_publish_batch_test, a_turn_past_the_call_and_search_bounds_keeps_each_tag_in_order) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  b.watch("many.*");
  ASSERT_TRUE(pump_until([&] { return redis_->command({"PUBSUB", "NUMPAT"}) == ":1"; }));
  EXPECT_EQ(redis_->command({"CONFIG", "RESETSTAT"}), "+OK");
  uint64_t ticket = 0;
  for (int i = 0; i < 70; ++i) {  // one tag: 64 + 6
    a.publish({"many.one", std::to_string(i), ++ticket});
  }
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 70; }));
  EXPECT_EQ(evalsha_calls(), 2u);
  for (int round = 0; round < 3; ++round) {  // 20 tags interleaved, three messages each
    for (int t = 0; t < 20; ++t) {
      a.publish({"many.t" + std::to_string(t), std::to_string(round), ++ticket});
    }
  }
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 130 && rec_b.pattern_messages.size() == 130; }))
      << rec_a.acks.size() << " acks, " << rec_b.pattern_messages.size() << " messages";
  std::map<std::string, uint64_t> last_seq;
  std::map<std::string, int> next_data;
  for (const auto& m : rec_b.pattern_messages) {
    EXPECT_EQ(m.seq, last_seq[m.tag] + 1) << m.tag;  // in order, once
    last_seq[m.tag] = m.seq;
    EXPECT_EQ(m.data, std::to_string(next_data[m.tag]++)) << m.tag;
  }
  EXPECT_EQ(last_seq["many.one"], 70u);
  EXPECT_EQ(last_seq["many.t19"], 3u);
  for (const auto& ack : rec_a.acks) {
    EXPECT_TRUE(ack.ok) << ack.ticket;
  }
  EXPECT_EQ(metrics_.broker_pending.get(), 0u);
}

TEST_F(redis_publish_batch_test, idem_duplicates_inside_a_call_and_across_calls) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  // One call: k1, none, k1 again (a duplicate of the first, inside the call), k2.
  b.publish({"t", "\"a\"", 1, "k1"});
  b.publish({"t", "\"b\"", 2});
  b.publish({"t", "\"c\"", 3, "k1"});
  b.publish({"t", "\"d\"", 4, "k2"});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 4; }));
  // Next call: only keys already held (nothing is published), then one fresh with a held one.
  b.publish({"t", "\"e\"", 5, "k2"});
  b.publish({"t", "\"f\"", 6, "k1"});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 6; }));
  b.publish({"t", "\"g\"", 7, "k1"});
  b.publish({"t", "\"h\"", 8, "k3"});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 8; }));
  const std::vector<std::pair<uint64_t, bool>> want = {
      {1, false}, {2, false}, {1, true}, {3, false}, {3, true}, {1, true}, {1, true}, {4, false}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(rec.acks[i].ok) << i;
    EXPECT_EQ(rec.acks[i].ticket, i + 1);
    EXPECT_EQ(rec.acks[i].seq, want[i].first) << i;
    EXPECT_EQ(rec.acks[i].dup, want[i].second) << i;
  }
  EXPECT_EQ(rec.acks[2].ts_ms, rec.acks[0].ts_ms);  // a duplicate repeats the first's ts
  EXPECT_EQ(rec.acks[5].ts_ms, rec.acks[0].ts_ms);
  EXPECT_EQ(rec.acks[4].ts_ms, rec.acks[3].ts_ms);
  EXPECT_EQ(metrics_.idem_duplicates.get(), 4u);
  EXPECT_EQ(redis_->command({"XLEN", "wsa:{t}:log"}), ":4");
  EXPECT_EQ(redis_->command({"HGET", "wsa:{t}:seq", "s"}), "$4");
}

TEST_F(redis_publish_batch_test, a_refused_call_fails_each_of_its_messages_and_no_other) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  // A seq key of the wrong type: the script's first read fails, the whole call is refused.
  EXPECT_EQ(redis_->command({"SET", "wsa:{bad}:seq", "x"}), "+OK");
  b.publish({"bad", "1", 1});
  b.publish({"good", "1", 2});
  b.publish({"bad", "2", 3});
  b.publish({"bad", "3", 4, "k"});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 4; }));
  for (const auto& ack : rec.acks) {
    EXPECT_EQ(ack.ok, ack.ticket == 2) << ack.ticket;
    if (ack.ticket != 2) {
      EXPECT_EQ(ack.error, "unavailable");
    }
  }
  EXPECT_EQ(metrics_.broker_errors.get(), 3u);
  EXPECT_EQ(metrics_.broker_pending.get(), 0u);
  EXPECT_EQ(redis_->command({"EXISTS", "wsa:{bad}:idem:k"}), ":0");
}

// Redis refuses a script's writes (OOM, READONLY) at its first write: the batch takes its
// seqs before any PUBLISH, so a refused call published nothing, even with no history kept
// (it used to PUBLISH first, then fail on its seq write: the next call reused those seqs).
TEST_F(redis_publish_batch_test, a_call_refused_at_its_first_write_published_nothing) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b, [](redis_broker_options& o) { o.history_size = 0; });
  ASSERT_TRUE(all_ready());
  b.watch("h0");
  ASSERT_TRUE(pump_until([&] { return b.ready(); }));
  pump_for(50);  // the SUBSCRIBE confirmed
  a.publish({"h0", "\"a\"", 1});
  a.publish({"h0", "\"b\"", 2});
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 2 && rec_b.messages.size() == 2; }));
  EXPECT_EQ(redis_->command({"CONFIG", "SET", "maxmemory", "1"}), "+OK");  // every write: OOM
  a.publish({"h0", "\"c\"", 3});
  a.publish({"h0", "\"d\"", 4});
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 4; }));
  EXPECT_FALSE(rec_a.acks[2].ok);
  EXPECT_FALSE(rec_a.acks[3].ok);
  EXPECT_EQ(redis_->command({"CONFIG", "SET", "maxmemory", "0"}), "+OK");
  a.publish({"h0", "\"e\"", 5});
  a.publish({"h0", "\"f\"", 6});
  ASSERT_TRUE(pump_until([&] { return rec_a.acks.size() == 6 && rec_b.messages.size() >= 4; }));
  pump_for(100);  // nothing else arrives
  ASSERT_EQ(rec_b.messages.size(), 4u);
  const std::vector<std::pair<uint64_t, std::string>> want = {
      {1, "\"a\""}, {2, "\"b\""}, {3, "\"e\""}, {4, "\"f\""}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(rec_b.messages[i].seq, want[i].first) << i;
    EXPECT_EQ(rec_b.messages[i].data, want[i].second) << i;
  }
  EXPECT_EQ(rec_a.acks[4].seq, 3u);
  EXPECT_EQ(rec_a.acks[5].seq, 4u);
}

TEST_F(redis_publish_batch_test, a_call_pending_when_the_link_drops_fails_each_message) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  redis_->pause();  // the call is written, never answered
  b.publish({"p", "1", 1});
  b.publish({"p", "2", 2});
  b.publish({"p", "3", 3});
  for (int i = 0; i < 5; ++i) {
    turn();
  }
  EXPECT_TRUE(rec.acks.empty());
  redis_->kill();
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 3; }));
  for (const auto& ack : rec.acks) {
    EXPECT_FALSE(ack.ok);
  }
  EXPECT_EQ(metrics_.broker_pending.get(), 0u);
}

}  // namespace
}  // namespace wsa::test
