// The router, driven as three shards of one node through fake mailboxes and fake brokers:
// ordering, fan-out once per subscriber, replies to the right connection, interest and
// watching, and the pending-subscription merge (no gap, no duplicate while publishing),
// recovery, unsubscribe races, failures and malformed records.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/records.h"
#include "router_harness.h"

namespace wsa::test {
namespace {

constexpr unsigned A = 0, B = 1, C = 2;  // shards

subscriber_id conn(uint32_t slot, uint32_t generation = 1) { return {slot, generation}; }

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t s = first; s <= last; ++s) {
    out.push_back(s);
  }
  return out;
}

class router_test : public ::testing::Test {
 protected:
  node_harness node{3};

  void sub(unsigned shard, subscriber_id who, std::vector<sub_item> items,
           std::string id = "1") {
    node.router(shard).subscribe(who, id, items, UINT64_MAX);
  }
  void sub(unsigned shard, subscriber_id who, const std::string& key, std::string id = "1") {
    sub(shard, who, {sub_item{key}}, std::move(id));
  }
  void pub(unsigned shard, subscriber_id from, const std::string& tag, int n = 1,
           std::string id = "p") {
    for (int i = 0; i < n; ++i) {
      node.router(shard).publish(from, id, tag, "{\"n\":" + std::to_string(i) + "}");
    }
  }
};

TEST_F(router_test, a_publish_reaches_subscribers_on_every_shard_once_in_order) {
  const std::string tag = node.tag_owned_by(B);
  sub(A, conn(1), tag);
  sub(C, conn(7), tag);
  sub(C, conn(8), tag);
  node.settle();
  EXPECT_TRUE(node.broker_of(B).watched.count(tag));  // the owner watches it
  pub(A, conn(2), tag, 5);
  node.settle();
  EXPECT_EQ(node.client(A).seqs(1, tag), range(1, 5));
  EXPECT_EQ(node.client(C).seqs(7, tag), range(1, 5));
  EXPECT_EQ(node.client(C).seqs(8, tag), range(1, 5));
  EXPECT_TRUE(node.client(B).deliveries.empty());  // nobody subscribes there
  // One deliver call per message per shard, whatever the number of subscribers.
  EXPECT_EQ(node.client(C).deliver_calls, 5);
  // The publisher's replies come back to it, with the seqs, in order.
  ASSERT_EQ(node.client(A).replies.size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(node.client(A).replies[i].ok);
    EXPECT_EQ(node.client(A).replies[i].seq, i + 1);
    EXPECT_EQ(node.client(A).replies[i].to.slot, 2u);
  }
}

TEST_F(router_test, sub_answers_with_the_position_and_patterns_answer_at_once) {
  const std::string tag = node.tag_owned_by(C);
  pub(A, conn(1), tag, 3);
  node.settle();
  sub(B, conn(4), {sub_item{tag}, sub_item{"x.>"}}, "\"s\"");
  node.settle();
  ASSERT_EQ(node.client(B).answers.size(), 1u);
  const auto& a = node.client(B).answers[0];
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.request_id, "\"s\"");
  EXPECT_EQ(a.positions.size(), 1u);  // patterns have no position
  EXPECT_EQ(a.positions.at(tag), 3u);
  // A request of patterns only needs no owner (the embedded kind of broker).
  EXPECT_EQ(node.router(B).subscribe(conn(5), "2",
                std::vector<sub_item>{sub_item{"x.*"}}, UINT64_MAX),
            router::sub_status::done);
}

TEST_F(router_test, patterns_reach_each_subscriber_once_with_exact_subscriptions) {
  const std::string tag = "chat.room";
  sub(A, conn(1), {sub_item{"chat.*"}, sub_item{"chat.>"}, sub_item{tag}});
  sub(C, conn(2), "chat.>");
  node.settle();
  EXPECT_EQ(node.at(A).metrics.subscriptions.get(), 3u);
  EXPECT_EQ(node.router(A).subscription_count(1), 3u);
  pub(B, conn(9), tag, 2);
  node.settle();
  EXPECT_EQ(node.client(A).seqs(1, tag), range(1, 2));
  EXPECT_EQ(node.client(C).seqs(2, tag), range(1, 2));
}

TEST_F(router_test, subscribing_while_publishing_gives_no_gap_and_no_duplicate) {
  // The subscriber's shard (C) and the owner (B) are different; publishes keep coming from
  // A while the subscription's query and answer are on their way.
  const std::string tag = node.tag_owned_by(B);
  sub(A, conn(1), tag);  // someone already watches: live messages flow to A meanwhile
  node.settle();
  pub(A, conn(2), tag, 10);
  node.turn(A);  // the publishes leave A
  sub(C, conn(3), tag);
  node.turn(C);  // the query leaves C: it races with the publishes at B
  pub(A, conn(2), tag, 10);
  node.turn(B);  // B numbers the first ten (and answers C's query somewhere among them)
  node.turn(A);
  pub(A, conn(2), tag, 10);
  node.settle();
  const std::vector<uint64_t> got = node.client(C).seqs(3, tag);
  ASSERT_FALSE(got.empty());
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  const uint64_t top = node.client(C).answers[0].positions.at(tag);
  // Exactly the messages after the reported top, each once, in order.
  EXPECT_EQ(got, range(top + 1, 30));
  EXPECT_EQ(node.client(A).seqs(1, tag), range(1, 30));
}

TEST_F(router_test, live_messages_wait_behind_the_answer_and_the_replay) {
  const std::string tag = node.tag_owned_by(B);
  pub(A, conn(1), tag, 5);
  node.settle();
  node.broker_of(B).hold_queries = true;
  sub(C, conn(3), {sub_item{tag, true, 2}});
  node.settle();  // the query waits at B; meanwhile live messages arrive at C
  pub(A, conn(1), tag, 3);
  node.settle();
  EXPECT_TRUE(node.client(C).seqs(3, tag).empty());  // held, not delivered before the ok
  node.broker_of(B).answer_held();
  node.settle();
  // ok first, then the replay from since (3..8: everything after 2 up to the top at the
  // answer), then the held live ones above it (none: they are all in the replay).
  ASSERT_GE(node.client(C).log.size(), 1u);
  EXPECT_EQ(node.client(C).log[0], "3 ok 1");
  EXPECT_EQ(node.client(C).seqs(3, tag), range(3, 8));
  pub(A, conn(1), tag, 2);
  node.settle();
  EXPECT_EQ(node.client(C).seqs(3, tag), range(3, 10));
}

TEST_F(router_test, held_messages_above_the_top_follow_the_replay) {
  const std::string tag = node.tag_owned_by(C);  // the owner is the subscriber's shard
  pub(A, conn(1), tag, 4);
  node.settle();
  node.broker_of(C).hold_queries = true;
  sub(C, conn(3), {sub_item{tag, true, 1}});
  node.settle();
  // The answer is worked out now (top 4), but live messages 5 and 6 overtake it, as they
  // may with Redis: they are held, then follow the replay.
  node.broker_of(C).compute_held();
  pub(C, conn(1), tag, 2);
  node.settle();
  EXPECT_TRUE(node.client(C).seqs(3, tag).empty());
  node.broker_of(C).release_computed();
  node.settle();
  EXPECT_EQ(node.client(C).answers.at(0).positions.at(tag), 4u);
  EXPECT_EQ(node.client(C).seqs(3, tag), range(2, 6));
  EXPECT_EQ(node.client(C).log.front(), "3 ok 1");
}

TEST_F(router_test, recovery_reports_gaps_by_the_rules) {
  const std::string tag = node.tag_owned_by(B);
  pub(A, conn(1), tag, 10);
  node.settle();
  node.broker_of(B).trim(tag, 3);  // 8, 9, 10 retained
  sub(C, conn(1), {sub_item{tag, true, 2}}, "a");                     // history too short
  sub(C, conn(2), {sub_item{tag, true, 8}}, "b");                     // reaches back
  sub(C, conn(3), {sub_item{tag, true, 5, "another"}}, "c");          // another life
  sub(C, conn(4), {sub_item{tag, true, 99}}, "d");                    // beyond the top
  node.settle();
  auto& c = node.client(C);
  ASSERT_EQ(c.answers.size(), 4u);
  std::map<std::string, bool> gap;
  for (const auto& a : c.answers) {
    gap[a.request_id] = a.gaps.at(tag);
  }
  EXPECT_TRUE(gap["a"]);
  EXPECT_FALSE(gap["b"]);
  EXPECT_TRUE(gap["c"]);
  EXPECT_TRUE(gap["d"]);
  EXPECT_EQ(c.seqs(1, tag), range(8, 10));
  EXPECT_EQ(c.seqs(2, tag), range(9, 10));
  EXPECT_EQ(c.seqs(3, tag), range(8, 10));  // a restart replays all that is retained
  EXPECT_EQ(c.seqs(4, tag), range(8, 10));
}

TEST_F(router_test, unsubscribe_before_the_answer_cancels_the_tag) {
  const std::string tag = node.tag_owned_by(B);
  const std::string other = node.tag_owned_by(B, "u");
  node.broker_of(B).hold_queries = true;
  sub(C, conn(3), {sub_item{tag}, sub_item{other}});
  node.settle();
  node.router(C).unsubscribe(conn(3), tag);
  pub(A, conn(1), tag, 2);
  pub(A, conn(1), other, 2);
  node.settle();
  node.broker_of(B).answer_held();
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  EXPECT_EQ(node.client(C).answers[0].positions.count(tag), 0u);  // cancelled: not listed
  EXPECT_EQ(node.client(C).answers[0].positions.count(other), 1u);
  EXPECT_TRUE(node.client(C).seqs(3, tag).empty());
  EXPECT_FALSE(node.router(C).holds(3, tag));
  // Nobody else holds the tag: the owner stopped watching it.
  EXPECT_FALSE(node.broker_of(B).watched.count(tag));
  EXPECT_TRUE(node.broker_of(B).watched.count(other));
}

TEST_F(router_test, unsubscribe_and_subscribe_again_race_without_duplicates) {
  const std::string tag = node.tag_owned_by(B);
  sub(C, conn(3), tag, "1");
  node.settle();
  pub(A, conn(1), tag, 3);
  node.turn(A);
  node.router(C).unsubscribe(conn(3), tag);
  sub(C, conn(3), tag, "2");
  pub(A, conn(1), tag, 3);
  node.settle();
  const std::vector<uint64_t> got = node.client(C).seqs(3, tag);
  // Whatever interleaving: strictly increasing, no duplicate, and nothing after the second
  // subscription's top is missing.
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_LT(got[i - 1], got[i]);
  }
  const uint64_t top = node.client(C).answers.back().positions.at(tag);
  std::vector<uint64_t> after;
  for (uint64_t s : got) {
    if (s > top) {
      after.push_back(s);
    }
  }
  EXPECT_EQ(after, range(top + 1, 6));
}

TEST_F(router_test, a_failed_answer_leaves_no_half_subscription) {
  const std::string tag = node.tag_owned_by(B);
  node.broker_of(B).hold_queries = true;
  sub(C, conn(3), tag, "9");
  node.settle();
  node.broker_of(B).answer_held(/*fail=*/true);
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  EXPECT_FALSE(node.client(C).answers[0].ok);
  EXPECT_FALSE(node.router(C).holds(3, tag));
  EXPECT_FALSE(node.broker_of(B).watched.count(tag));
  pub(A, conn(1), tag, 1);
  node.settle();
  EXPECT_TRUE(node.client(C).seqs(3, tag).empty());
}

TEST_F(router_test, a_dropped_connection_gets_nothing_and_withdraws_its_interest) {
  const std::string tag = node.tag_owned_by(B);
  node.broker_of(B).hold_queries = true;
  sub(C, conn(3), {sub_item{tag}, sub_item{"p.*"}});
  node.settle();
  node.router(C).drop(3);
  node.broker_of(B).answer_held();
  pub(A, conn(1), tag, 1);
  node.settle();
  EXPECT_TRUE(node.client(C).answers.empty());
  EXPECT_TRUE(node.client(C).deliveries.empty());
  EXPECT_FALSE(node.broker_of(B).watched.count(tag));
  EXPECT_FALSE(node.broker_of(A).watched.count("p.*"));  // patterns belong to shard 0
  EXPECT_EQ(node.router(C).subscription_count(3), 0u);
  EXPECT_EQ(node.at(C).metrics.subscriptions.get(), 0u);
}

TEST_F(router_test, answers_for_a_reused_slot_go_nowhere) {
  const std::string tag = node.tag_owned_by(B);
  node.broker_of(B).hold_queries = true;
  sub(C, conn(3, 1), tag, "old");
  node.settle();
  node.router(C).drop(3);
  sub(C, conn(3, 2), tag, "new");  // the slot's next connection
  node.settle();
  node.broker_of(B).answer_held();
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  EXPECT_EQ(node.client(C).answers[0].request_id, "new");
  EXPECT_EQ(node.client(C).answers[0].to.generation, 2u);
}

TEST_F(router_test, publish_failures_reach_the_publisher) {
  const std::string tag = node.tag_owned_by(B);
  node.broker_of(B).fail_publishes = true;
  pub(A, conn(5), tag, 1, "42");
  node.settle();
  ASSERT_EQ(node.client(A).replies.size(), 1u);
  EXPECT_FALSE(node.client(A).replies[0].ok);
  EXPECT_EQ(node.client(A).replies[0].error, "unavailable");
  EXPECT_EQ(node.client(A).replies[0].request_id, "42");
}

TEST_F(router_test, a_pattern_with_its_own_stream_waits_for_it) {
  for (unsigned i = 0; i < node.size(); ++i) {
    node.broker_of(i).patterns_stream = true;
  }
  node.broker_of(A).hold_queries = true;  // shard 0 owns patterns
  EXPECT_EQ(node.router(C).subscribe(conn(3), "1",
                std::vector<sub_item>{sub_item{"a.*"}}, UINT64_MAX),
            router::sub_status::waiting);
  node.settle();
  EXPECT_TRUE(node.client(C).answers.empty());
  node.broker_of(A).answer_held();
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  EXPECT_TRUE(node.client(C).answers[0].ok);
  EXPECT_TRUE(node.client(C).answers[0].positions.empty());
}

TEST_F(router_test, stream_gaps_reach_holders_but_not_waiting_subscriptions) {
  const std::string tag = node.tag_owned_by(B);
  sub(A, conn(1), tag);
  sub(C, conn(2), tag);
  node.settle();
  node.broker_of(B).hold_queries = true;
  sub(C, conn(3), tag, "w");
  node.settle();
  node.at(B).events.stream_gap(tag);
  node.settle();
  EXPECT_EQ(node.client(A).log.back(), "1 gap " + tag);
  EXPECT_EQ(node.client(C).log.back(), "2 gap " + tag);
  for (const std::string& line : node.client(C).log) {
    EXPECT_NE(line, "3 gap " + tag);
  }
}

TEST_F(router_test, malformed_records_are_dropped_and_counted) {
  node.router(A).on_record(B, records::publish::type, "short");
  node.router(A).on_record(B, 999, "");
  EXPECT_EQ(node.router(A).bad_records(), 2u);
  node.settle();
  EXPECT_TRUE(node.client(A).replies.empty());
}

// ---- recovery on patterns (protocol 1.1) ----

// A `sub` of `pattern` with the pattern form of since.
sub_item pattern_since(const std::string& pattern, std::span<const known_position> known,
                       bool has_ts = false, uint64_t ts = 0, uint32_t max_tags = 1000) {
  sub_item item{pattern};
  item.has_since = true;
  item.pattern_since = true;
  item.since_has_ts = has_ts;
  item.since_ts = ts;
  item.known = known;
  item.max_tags = max_tags;
  return item;
}

TEST_F(router_test, a_pattern_recovery_asks_every_owner_and_holds_live_messages) {
  const std::string a = node.tag_owned_by(A, "p.a");
  const std::string b = node.tag_owned_by(B, "p.b");
  pub(A, conn(1), a, 3);
  pub(B, conn(1), b, 3);
  node.settle();
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).hold_queries = true;
  }
  const known_position known[] = {{a, 1, {}}};
  sub(C, conn(3), {pattern_since("p.*", known)});
  node.settle();
  // Live messages while the owners have not answered: held.
  pub(A, conn(1), a, 2);
  pub(B, conn(1), b, 2);
  node.settle();
  EXPECT_TRUE(node.client(C).deliveries.empty());
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).answer_held();
  }
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  const auto& answer = node.client(C).answers[0];
  EXPECT_EQ(answer.positions.at(a), 5u);
  EXPECT_EQ(answer.positions.at(b), 5u);
  EXPECT_EQ(answer.positions.count("p.*"), 0u);
  EXPECT_EQ(node.client(C).log.front(), "3 ok 1");
  // a: after the known seq 1; b (not known, no ts): everything; no duplicate of the held.
  EXPECT_EQ(node.client(C).seqs(3, a), range(2, 5));
  EXPECT_EQ(node.client(C).seqs(3, b), range(1, 5));
  pub(A, conn(1), a, 1);
  node.settle();
  EXPECT_EQ(node.client(C).seqs(3, a), range(2, 6));
}

TEST_F(router_test, a_pattern_recovery_drops_held_messages_its_replay_covers) {
  const std::string a = node.tag_owned_by(A, "q.a");
  pub(A, conn(1), a, 2);
  node.settle();
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).hold_queries = true;
  }
  sub(C, conn(3), {pattern_since("q.>", {})});
  node.settle();
  // Worked out at top 2; 3 and 4 overtake the answer (as with Redis) and are held.
  node.broker_of(A).compute_held();
  pub(A, conn(1), a, 2);
  node.settle();
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).release_computed();
    node.broker_of(s).answer_held();
  }
  node.settle();
  EXPECT_EQ(node.client(C).seqs(3, a), range(1, 4));
  EXPECT_EQ(node.client(C).answers.at(0).positions.at(a), 2u);
}

TEST_F(router_test, a_pattern_recovery_past_max_tags_reports_the_pattern) {
  for (int i = 0; i < 4; ++i) {
    pub(A, conn(1), node.tag_owned_by(A, "m.t" + std::to_string(i)), 1);
  }
  node.settle();
  sub(C, conn(3), {pattern_since("m.*", {}, false, 0, 2)});
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  const auto& answer = node.client(C).answers[0];
  EXPECT_TRUE(answer.gaps.at("m.*"));
  EXPECT_EQ(answer.positions.size(), 3u);  // two tags and the pattern's gap
}


TEST_F(router_test, a_named_tag_from_another_life_past_max_tags_keeps_its_live_messages) {
  // A's two tags fill the bound before B answers for x, which the client named as it knew
  // it in another life (seq 10 of epoch "old"): x restarted, its seqs began again at 1.
  const std::string a0 = node.tag_owned_by(A, "n.a");
  const std::string a1 = node.tag_owned_by(A, "n.b");
  const std::string x = node.tag_owned_by(B, "n.x");
  pub(A, conn(1), a0, 1);
  pub(A, conn(1), a1, 1);
  pub(B, conn(1), x, 3);
  node.settle();
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).hold_queries = true;
  }
  const known_position known[] = {{x, 10, "old"}};
  sub(C, conn(3), {pattern_since("n.*", known, false, 0, 2)});
  node.settle();
  pub(B, conn(1), x, 2);  // 4 and 5, held
  node.settle();
  node.broker_of(A).answer_held();
  node.settle();
  for (unsigned s : {B, C}) {
    node.broker_of(s).answer_held();
  }
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  EXPECT_TRUE(node.client(C).answers[0].gaps.at("n.*"));
  EXPECT_EQ(node.client(C).answers[0].positions.count(x), 0u);
  // Not floored at the old life's 10: the new life's live messages after its top arrive.
  EXPECT_EQ(node.client(C).seqs(3, x), range(4, 5));
  pub(B, conn(1), x, 1);
  node.settle();
  EXPECT_EQ(node.client(C).seqs(3, x), range(4, 6));
}

TEST_F(router_test, a_pattern_recovery_holds_live_messages_up_to_its_share_then_reports_a_gap) {
  const std::string a = node.tag_owned_by(A, "h.a");
  pub(A, conn(1), a, 1);
  node.settle();
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).hold_queries = true;
  }
  // One recovering key: its share is the whole 4 KiB the connection may have queued.
  const std::string pattern = "h.*";  // outlives items: a sub_item views its key
  const sub_item items[] = {pattern_since(pattern, {})};
  node.router(C).subscribe(conn(3), "1", items, 4096);
  node.settle();
  node.broker_of(A).compute_held();  // the replay is seq 1
  pub(A, conn(1), a, 100);           // ~94 bytes each counted: past 4 KiB while held
  node.settle();
  for (unsigned s : {A, B, C}) {
    node.broker_of(s).release_computed();
    node.broker_of(s).answer_held();
  }
  node.settle();
  ASSERT_EQ(node.client(C).answers.size(), 1u);
  EXPECT_TRUE(node.client(C).answers[0].gaps.at("h.*"));
  EXPECT_EQ(node.client(C).seqs(3, a), range(1, 1));
  EXPECT_EQ(node.at(C).metrics.pattern_recovery_holds_cut.get(), 1u);
  // Live again after the answer.
  pub(A, conn(1), a, 1);
  node.settle();
  EXPECT_EQ(node.client(C).seqs(3, a), (std::vector<uint64_t>{1, 102}));
}

}  // namespace
}  // namespace wsa::test
