// The Redis broker against a real redis-server: seq numbering across brokers, live
// messages, `since` recovery and its gap rules, epochs, AUTH, NOSCRIPT and patterns.
// Failure and reconnection behaviour is in redis_recovery_test.cpp.
#include <algorithm>
#include <set>

#include "broker/redis_meta.h"
#include "broker/redis_scripts.h"
#include "redis_harness.h"

namespace wsa::test {
namespace {

class redis_broker_test : public redis_broker_harness {
 protected:
  since_request since(uint64_t seq, std::string_view epoch = {}) {
    return since_request{true, seq, epoch};
  }
  // Publishes `n` messages {"n":i} on `tag` through `b`, all in one loop turn.
  void publish_n(redis_broker& b, std::string_view tag, int n, uint64_t first_ticket = 0) {
    for (int i = 0; i < n; ++i) {
      b.publish({tag, "{\"n\":" + std::to_string(i) + "}", first_ticket + i});
    }
  }
  bool query_and_wait(redis_broker& b, recorder& r, std::string_view tag, since_request s,
                      uint64_t ticket) {
    b.query(tag, s, ticket);
    return pump_until([&] { return r.answers.count(ticket) != 0; });
  }
};

TEST_F(redis_broker_test, publish_assigns_gap_free_seqs_per_tag_after_the_reply) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  publish_n(b, "a", 3, 10);
  b.publish({"b", "true", 20});
  EXPECT_TRUE(rec.acks.empty());  // never before Redis answered
  EXPECT_EQ(metrics_.broker_pending.get(), 4u);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 4; }));
  std::vector<std::pair<uint64_t, uint64_t>> got;
  for (const auto& a : rec.acks) {
    EXPECT_TRUE(a.ok);
    got.emplace_back(a.ticket, a.seq);
  }
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint64_t>>{{10, 1}, {11, 2}, {12, 3}, {20, 1}}));
  EXPECT_EQ(metrics_.broker_pending.get(), 0u);
  EXPECT_EQ(metrics_.broker_latency_count.get(), 4u);
  EXPECT_EQ(redis_->command({"HGET", "wsa:{a}:seq", "s"}), "$3");
  EXPECT_EQ(redis_->command({"XLEN", "wsa:{a}:log"}), ":3");
}

TEST_F(redis_broker_test, two_nodes_publishing_on_one_tag_get_distinct_gap_free_seqs) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    publish_n(a, "shared", 10, round * 10);
    publish_n(b, "shared", 10, round * 10);
    turn();  // batches of both nodes interleave in Redis
  }
  ASSERT_TRUE(pump_until([&] {
    return rec_a.acks.size() == rounds * 10 && rec_b.acks.size() == rounds * 10;
  }));
  std::set<uint64_t> all;
  for (const recorder* r : {&rec_a, &rec_b}) {
    uint64_t last = 0;
    for (const auto& ack : r->acks) {
      ASSERT_TRUE(ack.ok);
      EXPECT_GT(ack.seq, last);  // a node's own publishes keep their order
      last = ack.seq;
      EXPECT_TRUE(all.insert(ack.seq).second) << "seq " << ack.seq << " given twice";
    }
  }
  EXPECT_EQ(all.size(), 2u * rounds * 10);
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), 2u * rounds * 10);
}

TEST_F(redis_broker_test, watched_tag_delivers_live_messages_of_every_node_in_order) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("room");
  ASSERT_TRUE(query_and_wait(a, rec_a, "room", {}, 1));  // answered once subscribed
  EXPECT_EQ(rec_a.answers[1].top, 0u);
  for (int i = 0; i < 30; ++i) {
    (i % 2 ? a : b).publish({"room", "{\"i\":" + std::to_string(i) + "}", uint64_t(i)});
  }
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 30; }));
  std::vector<uint64_t> expected(30);
  for (uint64_t i = 0; i < 30; ++i) {
    expected[i] = i + 1;
  }
  EXPECT_EQ(rec_a.seqs_of("room"), expected);
  EXPECT_TRUE(rec_b.messages.empty());  // b watches nothing: nothing is fanned out locally
  // Whichever publish got seq 1 (its ticket is its i) is the first message.
  uint64_t first = 99;
  for (const recorder* r : {&rec_a, &rec_b}) {
    for (const auto& ack : r->acks) {
      if (ack.seq == 1) {
        first = ack.ticket;
      }
    }
  }
  EXPECT_EQ(rec_a.messages[0].seq, 1u);
  EXPECT_EQ(rec_a.messages[0].data, "{\"i\":" + std::to_string(first) + "}");
  EXPECT_EQ(rec_a.messages[0].scope, delivery_scope::exact);
  // Each once: a later publish (the fence: one Redis connection delivers in order) comes
  // right after the 30.
  b.publish({"room", "\"fence\"", 98});
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() >= 31; }));
  EXPECT_EQ(rec_a.messages.size(), 31u);
  EXPECT_EQ(rec_a.messages.back().seq, 31u);

  // Unwatched: nothing more of the tag. The fence is a tag still watched, published after
  // it by the same node (Redis runs one connection's commands in order and pushes to a
  // subscriber connection in order).
  a.unwatch("room");
  a.watch("fence");
  ASSERT_TRUE(query_and_wait(a, rec_a, "fence", {}, 2));
  b.publish({"room", "1", 99});
  b.publish({"fence", "1", 100});
  ASSERT_TRUE(pump_until([&] { return !rec_a.seqs_of("fence").empty(); }));
  EXPECT_EQ(rec_a.seqs_of("room").size(), 31u);
}

TEST_F(redis_broker_test, since_returns_exactly_the_missed_messages_and_the_gap_rules) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  publish_n(b, "t", 10);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 10; }));

  ASSERT_TRUE(query_and_wait(b, rec, "t", {}, 1));
  const std::string epoch = rec.answers[1].epoch;
  EXPECT_EQ(rec.answers[1].top, 10u);
  EXPECT_TRUE(rec.answers[1].seqs.empty());
  EXPECT_EQ(epoch.size(), 8u);
  EXPECT_EQ(redis_->command({"HGET", "wsa:{t}:seq", "e"}), "$" + epoch);

  ASSERT_TRUE(query_and_wait(b, rec, "t", since(4, epoch), 2));
  EXPECT_EQ(rec.answers[2].seqs, (std::vector<uint64_t>{5, 6, 7, 8, 9, 10}));
  EXPECT_FALSE(rec.answers[2].gap);
  EXPECT_EQ(rec.answers[2].data[0], R"({"n":4})");

  ASSERT_TRUE(query_and_wait(b, rec, "t", since(10), 3));  // up to date
  EXPECT_TRUE(rec.answers[3].seqs.empty());
  EXPECT_FALSE(rec.answers[3].gap);

  ASSERT_TRUE(query_and_wait(b, rec, "t", since(0), 4));  // everything
  EXPECT_EQ(rec.answers[4].seqs.size(), 10u);
  EXPECT_FALSE(rec.answers[4].gap);

  ASSERT_TRUE(query_and_wait(b, rec, "t", since(11), 5));  // beyond the top: another life
  EXPECT_TRUE(rec.answers[5].gap);
  EXPECT_EQ(rec.answers[5].seqs.size(), 10u);

  ASSERT_TRUE(query_and_wait(b, rec, "t", since(4, "deadbeef"), 6));  // other epoch
  EXPECT_TRUE(rec.answers[6].gap);
  EXPECT_EQ(rec.answers[6].seqs.size(), 10u);

  ASSERT_TRUE(query_and_wait(b, rec, "never", since(0), 7));
  EXPECT_EQ(rec.answers[7].top, 0u);
  EXPECT_FALSE(rec.answers[7].gap);
  EXPECT_TRUE(rec.answers[7].seqs.empty());
}

TEST_F(redis_broker_test, trimmed_history_is_a_gap_with_what_is_retained) {
  start_redis();
  recorder rec;
  redis_broker_options o = broker_options();
  o.history_size = 4;
  redis_broker& b = add_broker(rec, o);
  redis_broker_options none = broker_options();
  none.history_size = 0;
  recorder rec_none;
  redis_broker& n = add_broker(rec_none, none);
  ASSERT_TRUE(all_ready());
  publish_n(b, "t", 10);
  publish_n(n, "u", 3);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 10 && rec_none.acks.size() == 3; }));
  EXPECT_EQ(redis_->command({"XLEN", "wsa:{t}:log"}), ":4");

  ASSERT_TRUE(query_and_wait(b, rec, "t", since(2), 1));
  EXPECT_TRUE(rec.answers[1].gap);
  EXPECT_EQ(rec.answers[1].seqs, (std::vector<uint64_t>{7, 8, 9, 10}));
  ASSERT_TRUE(query_and_wait(b, rec, "t", since(6), 2));  // reaches back exactly
  EXPECT_FALSE(rec.answers[2].gap);
  EXPECT_EQ(rec.answers[2].seqs.size(), 4u);

  ASSERT_TRUE(query_and_wait(n, rec_none, "u", since(1), 3));
  EXPECT_TRUE(rec_none.answers[3].gap);
  EXPECT_TRUE(rec_none.answers[3].seqs.empty());
  ASSERT_TRUE(query_and_wait(n, rec_none, "u", since(3), 4));
  EXPECT_FALSE(rec_none.answers[4].gap);
}

TEST_F(redis_broker_test, history_older_than_the_max_age_is_not_returned) {
  start_redis();
  recorder rec;
  redis_broker_options o = broker_options();
  o.history_max_age_s = 1;
  redis_broker& b = add_broker(rec, o);
  ASSERT_TRUE(all_ready());
  publish_n(b, "aged", 3);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 3; }));
  // Age the entries: rewrite their timestamps 10 s into the past.
  const std::string old = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count() - 10000);
  for (const char* id : {"1-0", "2-0"}) {
    redis_->command({"XDEL", "wsa:{aged}:log", id});
  }
  redis_->command({"XADD", "wsa:{aged}:log", "1-0", "d", "{\"n\":0}", "t", old});
  redis_->command({"XADD", "wsa:{aged}:log", "2-0", "d", "{\"n\":1}", "t", old});
  ASSERT_TRUE(query_and_wait(b, rec, "aged", since(0), 1));
  EXPECT_TRUE(rec.answers[1].gap);
  EXPECT_EQ(rec.answers[1].seqs, (std::vector<uint64_t>{3}));
  b.publish({"aged", "4", 9});  // the next publish trims them for good
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 4; }));
  EXPECT_EQ(redis_->command({"XLEN", "wsa:{aged}:log"}), ":2");
  // The batch script (two publishes in one turn) trims the same way.
  for (const char* id : {"3-0", "4-0"}) {
    redis_->command({"XDEL", "wsa:{aged}:log", id});
  }
  redis_->command({"XADD", "wsa:{aged}:log", "3-0", "d", "{\"n\":2}", "t", old});
  redis_->command({"XADD", "wsa:{aged}:log", "4-0", "d", "4", "t", old});
  b.publish({"aged", "5", 10});
  b.publish({"aged", "6", 11});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 6; }));
  EXPECT_EQ(redis_->command({"XLEN", "wsa:{aged}:log"}), ":2");
  EXPECT_EQ(rec.acks[5].seq, 6u);
}

TEST_F(redis_broker_test, epoch_changes_and_seq_restarts_when_redis_lost_the_tag) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  publish_n(b, "t", 3);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 3; }));
  ASSERT_TRUE(query_and_wait(b, rec, "t", {}, 1));
  const std::string first = rec.answers[1].epoch;
  EXPECT_EQ(redis_->command({"FLUSHDB"}), "+OK");
  b.publish({"t", "\"again\"", 7});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 4; }));
  EXPECT_EQ(rec.acks[3].seq, 1u);
  ASSERT_TRUE(query_and_wait(b, rec, "t", since(3, first), 2));
  EXPECT_NE(rec.answers[2].epoch, first);
  EXPECT_EQ(rec.answers[2].top, 1u);
  EXPECT_TRUE(rec.answers[2].gap);
  EXPECT_EQ(rec.answers[2].seqs, (std::vector<uint64_t>{1}));
}

TEST_F(redis_broker_test, password_is_required_and_used) {
  start_redis({.password = "s3cret pass"});
  recorder good;
  recorder bad;
  redis_broker& ok = add_broker(good, broker_options("s3cret pass"));
  redis_broker& refused = add_broker(bad, broker_options("wrong"));
  ASSERT_TRUE(pump_until([&] { return ok.ready(); }));
  // Redis has refused the wrong password (its ACL log says so): not ready, however long.
  ASSERT_TRUE(pump_until([&] {
    return redis_->command({"ACL", "LOG"}).find("$reason,$auth") != std::string::npos;
  }));
  EXPECT_FALSE(refused.ready());
  ok.publish({"p", "1", 1});
  refused.publish({"p", "2", 2});
  take_results();  // no turn: the refusal is queued at once (no connection)
  ASSERT_EQ(bad.acks.size(), 1u);
  EXPECT_FALSE(bad.acks[0].ok);
  EXPECT_EQ(bad.acks[0].error, "unavailable");
  ASSERT_TRUE(pump_until([&] { return good.acks.size() == 1; }));
  EXPECT_TRUE(good.acks[0].ok);
}

TEST_F(redis_broker_test, a_database_is_selected) {
  start_redis();
  recorder rec;
  redis_broker_options o = broker_options();
  o.link.db = 3;
  redis_broker& b = add_broker(rec, o);
  ASSERT_TRUE(all_ready());
  b.publish({"d", "1", 1});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 1; }));
  EXPECT_EQ(redis_->command({"EXISTS", "wsa:{d}:seq"}), ":0");  // not in db 0
}

TEST_F(redis_broker_test, noscript_after_script_flush_reloads_and_retries) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  b.publish({"s", "1", 1});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 1; }));
  EXPECT_EQ(redis_->command({"SCRIPT", "FLUSH"}), "+OK");
  publish_n(b, "s", 5, 10);
  b.query("s", since(0), 2);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 6 && rec.answers.count(2); }));
  for (std::size_t i = 0; i < rec.acks.size(); ++i) {
    EXPECT_TRUE(rec.acks[i].ok);
    EXPECT_EQ(rec.acks[i].seq, i + 1);
  }
  EXPECT_TRUE(rec.answers[2].ok);
  EXPECT_EQ(rec.answers[2].seqs.size(), 6u);
  EXPECT_EQ(metrics_.broker_errors.get(), 0u);
  // Seven loads on connect (publish, batch publish, query, retain, pattern recovery's
  // candidates, presence, MQTT sessions), seven again after NOSCRIPT (once, however many
  // commands failed; the five publishes went as one batch call).
  const std::string stats = redis_->command({"INFO", "commandstats"});
  EXPECT_NE(stats.find("cmdstat_script|load:calls=14,"), std::string::npos) << stats;
}

TEST_F(redis_broker_test, patterns_deliver_matching_tags_only) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, broker_options());
  ASSERT_TRUE(all_ready());
  b.watch("chat.*");
  b.watch("news.>");
  b.watch("a[1]?.*");  // glob metacharacters in a literal part
  ASSERT_TRUE(pump_until([&] { return redis_->command({"PUBSUB", "NUMPAT"}) == ":3"; }));
  for (const char* tag : {"chat.x", "chat.x.y", "news.a", "news.a.b", "other", "a[1]?.z",
                          "a1b.z"}) {
    b.publish({tag, "0", 0});
  }
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 7; }));
  ASSERT_TRUE(pump_until([&] { return rec.pattern_messages.size() == 4; }));
  b.publish({"news.fence", "0", 0});  // the fence: published last, delivered last
  ASSERT_TRUE(pump_until([&] { return rec.pattern_messages.size() >= 5; }));
  ASSERT_EQ(rec.pattern_messages.back().tag, "news.fence");
  rec.pattern_messages.pop_back();
  std::vector<std::string> got;
  for (const auto& m : rec.pattern_messages) {
    got.push_back(m.tag);
    EXPECT_EQ(m.scope, delivery_scope::patterns);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a[1]?.z", "chat.x", "news.a", "news.a.b"}));
  EXPECT_TRUE(rec.messages.empty());

  b.unwatch("chat.*");
  b.publish({"chat.x", "0", 0});
  b.publish({"news.fence", "0", 0});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 10; }));
  ASSERT_TRUE(pump_until([&] { return rec.pattern_messages.size() >= 5; }));
  EXPECT_EQ(rec.pattern_messages.size(), 5u);
  EXPECT_EQ(rec.pattern_messages.back().tag, "news.fence");
}

TEST_F(redis_broker_test, publisher_metadata_travels_with_the_message_live_and_replayed) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("dev.1");
  a.watch("pat.*");  // (a pattern over other tags: dev.1's messages come once, exact)
  ASSERT_TRUE(query_and_wait(a, rec_a, "dev.1", {}, 1));
  ASSERT_TRUE(pump_until([&] { return redis_->command({"PUBSUB", "NUMPAT"}) == ":1"; }));
  // Metadata is opaque bytes (binary, spaces, a leading '~'); data that is not marked
  // stays as it is.
  const std::string meta("~1 \x00\xff meta", 11);
  b.publish({"dev.1", "{\"c\":1}", 1, {}, meta});
  b.publish({"dev.1", "2", 2});
  b.publish({"pat.2", "\"x\"", 3, {}, "m2"});
  ASSERT_TRUE(pump_until([&] {
    return rec_a.messages.size() == 2 && rec_a.pattern_messages.size() == 1;
  }));
  EXPECT_EQ(rec_a.messages[0].data, "{\"c\":1}");
  EXPECT_EQ(rec_a.messages[0].meta, meta);
  EXPECT_EQ(rec_a.messages[1].data, "2");
  EXPECT_EQ(rec_a.messages[1].meta, "");
  EXPECT_EQ(rec_a.pattern_messages[0].data, "\"x\"");
  EXPECT_EQ(rec_a.pattern_messages[0].meta, "m2");
  ASSERT_TRUE(query_and_wait(b, rec_b, "dev.1", since(0), 2));
  EXPECT_EQ(rec_b.answers[2].data, (std::vector<std::string>{"{\"c\":1}", "2"}));
  EXPECT_EQ(rec_b.answers[2].meta, (std::vector<std::string>{meta, ""}));
}

TEST(redis_meta, stored_form_splits_back_and_refuses_malformed_marks) {
  char prefix[8];
  const std::string meta(300, 'm');
  const std::string stored = std::string(redis_meta_prefix(meta, prefix)) + meta + "[1]";
  EXPECT_EQ(stored.substr(0, 5), "~300 ");
  std::string_view data;
  std::string_view got;
  ASSERT_TRUE(redis_split_stored(stored, data, got));
  EXPECT_EQ(got, meta);
  EXPECT_EQ(data, "[1]");
  ASSERT_TRUE(redis_split_stored("{\"a\":1}", data, got));  // no mark: data alone
  EXPECT_EQ(data, "{\"a\":1}");
  EXPECT_TRUE(got.empty());
  ASSERT_TRUE(redis_split_stored("~0 1", data, got));
  EXPECT_EQ(data, "1");
  EXPECT_TRUE(got.empty());
  for (const char* bad : {"~", "~ 1", "~x 1", "~5 abc", "~3", "~99999999 x", "~65536 x"}) {
    EXPECT_FALSE(redis_split_stored(bad, data, got)) << bad;
  }
}

TEST(redis_retained_form, changes_read_back_and_malformed_ones_are_refused) {
  uint64_t order = 0;
  int64_t ts = 0;
  std::string_view stored;
  bool cleared = true;
  ASSERT_TRUE(redis_parse_retained("5 1000 ~2 mm{\"a\":1}", order, ts, stored, cleared));
  EXPECT_EQ(order, 5u);
  EXPECT_EQ(ts, 1000);
  EXPECT_FALSE(cleared);
  EXPECT_EQ(stored, "~2 mm{\"a\":1}");
  ASSERT_TRUE(redis_parse_retained("6 1001", order, ts, stored, cleared));
  EXPECT_TRUE(cleared);
  EXPECT_EQ(order, 6u);
  for (const char* bad : {"", "x 1", "5", "5 ", "5 x", "5 1000x", " 5 1000"}) {
    EXPECT_FALSE(redis_parse_retained(bad, order, ts, stored, cleared)) << bad;
  }
}

}  // namespace
}  // namespace wsa::test
