// Pattern subscriptions of the Redis broker across a lost subscriber link (issue 14): the
// broker is ready again only once every subscription is confirmed, and a pattern that was
// live before the drop is reported with on_stream_gap (patterns have no history to refill
// them from); a pattern message is passed on once per publish, also when a tag starts a new
// life with seq 1 again; exact tags whose hole the history cannot fill are reported too.
#include <algorithm>

#include "redis_harness.h"

namespace wsa::test {
namespace {

class redis_pattern_gap_test : public redis_broker_harness {
 protected:
  // Waits until `rec` has a pattern message of `tag` (a fence: Redis sends one
  // connection's messages in order, so whatever an earlier publish caused came first).
  bool await_pattern_message(const recorder& rec, std::string_view tag) {
    return pump_until([&] {
      return std::any_of(rec.pattern_messages.begin(), rec.pattern_messages.end(),
                         [&](const recorder::live& m) { return m.tag == tag; });
    });
  }
  static std::size_t count_tag(const std::vector<recorder::live>& messages,
                               std::string_view tag) {
    return static_cast<std::size_t>(
        std::count_if(messages.begin(), messages.end(),
                      [&](const recorder::live& m) { return m.tag == tag; }));
  }
};

TEST_F(redis_pattern_gap_test, a_pattern_live_before_the_link_dropped_is_reported_once_back) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("p.*");
  a.query("p.*", {}, 1);  // answered once the PSUBSCRIBE is confirmed
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1) != 0; }));
  b.publish({"p.before", "1", 1});
  ASSERT_TRUE(await_pattern_message(rec_a, "p.before"));
  EXPECT_TRUE(rec_a.gaps.empty());

  // The subscriber link drops; b publishes while a's pattern is not in Redis.
  EXPECT_EQ(redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"}), ":1");
  b.publish({"p.lost", "2", 2});
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 2; }));
  ASSERT_TRUE(pump_until([&] { return !a.ready(); }));
  ASSERT_TRUE(pump_until([&] { return a.ready(); }));
  // Ready means the PSUBSCRIBE is confirmed: the gap is already reported, and a publish
  // made now reaches the pattern.
  ASSERT_EQ(rec_a.gaps.size(), 1u);
  EXPECT_EQ(rec_a.gaps[0].key, "p.*");
  b.publish({"p.after", "3", 3});
  ASSERT_TRUE(await_pattern_message(rec_a, "p.after"));
  EXPECT_EQ(rec_a.gaps.size(), 1u) << "reported once";
  // The gap came after what was delivered before the drop and before what came after.
  EXPECT_EQ(rec_a.pattern_messages[rec_a.gaps[0].after_pattern_messages - 1].tag, "p.before");
  EXPECT_EQ(rec_a.pattern_messages[rec_a.gaps[0].after_pattern_messages].tag, "p.after");
}

TEST_F(redis_pattern_gap_test, ready_only_once_every_subscription_is_confirmed) {
  // At the first turn a broker says ready after its subscriber link came back, a publish
  // from another node reaches its patterns and tags: repeated, since the race is short.
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  for (int i = 0; i < 20; ++i) {
    a.watch("w" + std::to_string(i) + ".>");
  }
  a.watch("x.t");
  a.query("x.t", {}, 1);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1) != 0; }));
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    EXPECT_EQ(redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"}), ":1");
    ASSERT_TRUE(pump_until([&] { return !a.ready(); }));
    ASSERT_TRUE(pump_until([&] { return a.ready(); }));
    const std::string tag = "w19.r" + std::to_string(round);
    b.publish({tag, "0", 0});
    b.publish({"x.t", "0", 0});
    ASSERT_TRUE(await_pattern_message(rec_a, tag)) << "published after ready, never seen";
  }
  // The exact tag's stream had no hole at all.
  ASSERT_TRUE(pump_until([&] { return rec_a.seqs_of("x.t").size() == 5; }));
  EXPECT_EQ(rec_a.seqs_of("x.t"), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  // Each pattern is reported after each drop (the broker cannot know what it missed); the
  // exact tag, refilled from its history, never.
  EXPECT_EQ(rec_a.gaps.size(), 20u * 5);
  for (const recorder::gap& g : rec_a.gaps) {
    EXPECT_TRUE(g.key.ends_with(".>")) << g.key;
  }
}

TEST_F(redis_pattern_gap_test, a_publish_matching_several_patterns_comes_once_also_in_a_new_life) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("life.*");  // two globs: each publish of life.t arrives twice from Redis
  a.watch("*.t");
  a.watch("fence.>");
  ASSERT_TRUE(pump_until([&] { return redis_->command({"PUBSUB", "NUMPAT"}) == ":3"; }));
  b.publish({"life.t", "\"old\"", 1});
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 1; }));
  ASSERT_EQ(rec_b.acks[0].seq, 1u);
  // Redis loses the tag's state (as after a restart without persistence): the next publish
  // is seq 1 again, in a new epoch, and is a new message.
  EXPECT_EQ(redis_->command({"FLUSHALL"}), "+OK");
  b.publish({"life.t", "\"new\"", 2});
  b.publish({"fence.x", "0", 3});
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 3; }));
  ASSERT_EQ(rec_b.acks[1].seq, 1u);
  ASSERT_TRUE(await_pattern_message(rec_a, "fence.x"));
  ASSERT_EQ(count_tag(rec_a.pattern_messages, "life.t"), 2u);
  EXPECT_NE(rec_a.pattern_messages[0].data.find("\"old\""), std::string::npos);
  EXPECT_NE(rec_a.pattern_messages[1].data.find("\"new\""), std::string::npos);
}

TEST_F(redis_pattern_gap_test, an_exact_hole_the_history_cannot_fill_is_reported_in_place) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b, [](redis_broker_options& o) { o.history_size = 2; });
  ASSERT_TRUE(all_ready());
  a.watch("r");
  a.query("r", {}, 1);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1) != 0; }));
  b.publish({"r", "1", 1});
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 1; }));
  EXPECT_EQ(redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"}), ":1");
  for (int i = 2; i <= 6; ++i) {
    b.publish({"r", std::to_string(i), uint64_t(i)});
  }
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 3; }));
  EXPECT_EQ(rec_a.seqs_of("r"), (std::vector<uint64_t>{1, 5, 6}));
  ASSERT_EQ(rec_a.gaps.size(), 1u);
  EXPECT_EQ(rec_a.gaps[0].key, "r");
  EXPECT_EQ(rec_a.gaps[0].after_messages, 1u) << "between seq 1 and seq 5";
}

TEST_F(redis_pattern_gap_test, a_hole_the_history_fills_is_not_reported) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("f");
  a.query("f", {}, 1);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1) != 0; }));
  b.publish({"f", "1", 1});
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 1; }));
  EXPECT_EQ(redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"}), ":1");
  b.publish({"f", "2", 2});
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 2; }));
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 2; }));
  b.publish({"f", "3", 3});  // the fence: the live stream is back and in order
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 3; }));
  EXPECT_EQ(rec_a.seqs_of("f"), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(rec_a.gaps.empty());
}

}  // namespace
}  // namespace wsa::test
