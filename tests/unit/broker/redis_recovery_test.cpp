// The Redis broker when things go wrong: Redis killed or frozen mid-run (no false ok,
// not ready, reconnect, re-subscribe), the subscriber link dropped (holes in the live
// stream filled from the history), and query answers that must wait for the live stream.
#include <map>

#include "redis_harness.h"

namespace wsa::test {
namespace {

class redis_recovery_test : public redis_broker_harness {
 protected:
  static std::string data_of(uint64_t ticket) { return "{\"t\":" + std::to_string(ticket) + "}"; }
  // True when every message of `tag` in `r` has seq first, first+1, ... in order.
  static bool consecutive(const recorder& r, std::string_view tag, uint64_t first = 1) {
    uint64_t want = first;
    for (uint64_t seq : r.seqs_of(tag)) {
      if (seq != want++) {
        return false;
      }
    }
    return true;
  }
};

TEST_F(redis_recovery_test, redis_killed_mid_run_fails_pending_publishes_and_comes_back) {
  start_redis({.appendonly = true});
  recorder rec_a;
  recorder rec_b;
  redis_broker_options o = broker_options();
  o.history_size = 100000;
  redis_broker& a = add_broker(rec_a, o);
  redis_broker& b = add_broker(rec_b, o);
  ASSERT_TRUE(all_ready());
  a.watch("k");
  a.query("k", {}, 1);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1) != 0; }));

  // Publish from both nodes every turn; once 100 are acknowledged, kill Redis with more in
  // flight, and go on publishing for a few turns.
  uint64_t ticket = 0;
  std::size_t published_a = 0;
  std::size_t published_b = 0;
  bool killed = false;
  int turns_after_kill = 0;
  ASSERT_TRUE(pump_until([&] {
    for (int i = 0; i < 5; ++i, ++ticket) {
      (ticket % 2 ? a : b).publish({"k", data_of(ticket), ticket});
      ++(ticket % 2 ? published_a : published_b);
    }
    if (!killed && rec_a.acks.size() + rec_b.acks.size() >= 100) {
      redis_->kill();
      killed = true;
    }
    return killed && ++turns_after_kill == 10;
  }));
  ASSERT_TRUE(pump_until([&] {
    return rec_a.acks.size() == published_a && rec_b.acks.size() == published_b;
  }));
  ASSERT_TRUE(pump_until([&] { return !a.ready() && !b.ready(); }));
  std::map<uint64_t, uint64_t> ok_seq;  // ticket -> seq
  std::size_t failed = 0;
  for (const recorder* r : {&rec_a, &rec_b}) {
    for (const auto& ack : r->acks) {
      if (ack.ok) {
        ok_seq[ack.ticket] = ack.seq;
      } else {
        EXPECT_EQ(ack.error, "unavailable");
        ++failed;
      }
    }
  }
  EXPECT_GT(ok_seq.size(), 0u);
  EXPECT_GT(failed, 0u);
  // A publish refused while Redis is away is refused at once.
  a.publish({"k", "0", 999});
  EXPECT_FALSE(rec_a.acks.back().ok);

  ASSERT_TRUE(redis_->start());
  ASSERT_TRUE(all_ready());
  EXPECT_GE(metrics_.broker_reconnects.get(), 4u);  // two links on each broker

  // Every acknowledged message survived, with its data, and under the same numbering.
  a.query("k", {true, 0, {}}, 2);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(2) != 0; }));
  const recorder::answer& history = rec_a.answers[2];
  ASSERT_TRUE(history.ok);
  EXPECT_EQ(history.epoch, rec_a.answers[1].epoch);
  std::map<uint64_t, std::string> by_seq;
  for (std::size_t i = 0; i < history.seqs.size(); ++i) {
    by_seq[history.seqs[i]] = history.data[i];
  }
  for (const auto& [t, seq] : ok_seq) {
    ASSERT_TRUE(by_seq.count(seq)) << "acknowledged seq " << seq << " is missing";
    EXPECT_NE(by_seq[seq].find(data_of(t)), std::string::npos);
  }

  // The live stream re-subscribed and has no hole: every acknowledged message once, in order.
  b.publish({"k", "\"after\"", 5000});
  ASSERT_TRUE(pump_until([&] {
    return !rec_a.messages.empty() &&
           rec_a.messages.back().data.find("after") != std::string::npos;
  }));
  EXPECT_TRUE(consecutive(rec_a, "k"));
  EXPECT_EQ(a.live_gaps(), 0u);
  EXPECT_GE(rec_a.messages.size(), ok_seq.size() + 1);
}

TEST_F(redis_recovery_test, a_frozen_redis_times_out_requests_and_readiness) {
  start_redis();
  recorder rec;
  redis_broker_options o = broker_options();
  o.link.reply_timeout_ms = 300;
  o.link.keepalive_ms = 100;
  o.link.connect_timeout_ms = 300;
  redis_broker& b = add_broker(rec, o);
  ASSERT_TRUE(all_ready());
  redis_->pause();
  b.publish({"f", "1", 1});
  b.publish({"f", "2", 2});
  b.query("f", {}, 3);
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 2 && rec.answers.count(3); }, 3000));
  for (const auto& ack : rec.acks) {
    EXPECT_FALSE(ack.ok);  // never a false ok
  }
  EXPECT_FALSE(rec.answers[3].ok);
  EXPECT_FALSE(b.ready());
  pump_for(400);  // connections accepted by the frozen server's kernel do not count
  EXPECT_FALSE(b.ready());
  redis_->resume();
  ASSERT_TRUE(pump_until([&] { return b.ready(); }));
  b.publish({"f", "3", 4});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 3; }));
  EXPECT_TRUE(rec.acks[2].ok);
  // The timed-out publishes may still have run when Redis thawed (their bytes were in its
  // socket): a timeout is an honest "unavailable", not a promise that nothing happened.
  EXPECT_GE(rec.acks[2].seq, 1u);
  EXPECT_LE(rec.acks[2].seq, 3u);
}

TEST_F(redis_recovery_test, an_idle_link_to_a_frozen_redis_turns_not_ready) {
  start_redis();
  recorder rec;
  redis_broker_options o = broker_options();
  o.link.reply_timeout_ms = 200;
  o.link.keepalive_ms = 100;
  redis_broker& b = add_broker(rec, o);
  ASSERT_TRUE(all_ready());
  redis_->pause();
  EXPECT_TRUE(pump_until([&] { return !b.ready(); }, 2000));  // keepalive PING unanswered
  redis_->resume();
  EXPECT_TRUE(pump_until([&] { return b.ready(); }));
}

TEST_F(redis_recovery_test, subscriber_reconnect_fills_the_hole_from_history) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("r");
  a.query("r", {}, 1);
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1) != 0; }));
  for (int i = 0; i < 3; ++i) {
    b.publish({"r", data_of(i), uint64_t(i)});
  }
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 3; }));
  // Drop a's subscriber connection; b publishes while a is not subscribed.
  EXPECT_EQ(redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"}), ":1");
  for (int i = 3; i < 6; ++i) {
    b.publish({"r", data_of(i), uint64_t(i)});
  }
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 6; }));
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() == 6; }));
  EXPECT_TRUE(consecutive(rec_a, "r"));
  EXPECT_EQ(a.live_gaps(), 0u);
  b.publish({"r", data_of(6), 6});  // and the live stream goes on
  b.publish({"r", data_of(7), 7});  // the fence: nothing comes twice before it
  ASSERT_TRUE(pump_until([&] { return rec_a.messages.size() >= 8; }));
  EXPECT_TRUE(consecutive(rec_a, "r"));
  EXPECT_EQ(rec_a.messages.size(), 8u);
}

TEST_F(redis_recovery_test, a_hole_the_trimmed_history_cannot_fill_is_counted) {
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
  EXPECT_EQ(a.live_gaps(), 1u);
}

TEST_F(redis_recovery_test, answer_for_a_tag_with_history_comes_before_its_later_messages) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  for (int i = 1; i <= 5; ++i) {
    b.publish({"h", std::to_string(i), uint64_t(i)});
  }
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 5; }));
  a.watch("h");
  a.query("h", {true, 2, {}}, 1);  // sent once the subscription is confirmed
  b.publish({"h", "6", 6});
  b.publish({"h", "7", 7});
  ASSERT_TRUE(pump_until([&] { return rec_b.acks.size() == 7 && rec_a.answers.count(1); }));
  b.publish({"h", "8", 8});  // surely after the subscription
  ASSERT_TRUE(pump_until([&] { return !rec_a.messages.empty() &&
                                      rec_a.messages.back().seq == 8; }));
  const recorder::answer& ans = rec_a.answers[1];
  // Whatever the top (5, 6 or 7, depending on whether 6 and 7 reached Redis before the
  // SUBSCRIBE), nothing at or below it comes live after the answer, nothing is missing.
  bool answered = false;
  for (const std::string& line : rec_a.log) {
    if (line.starts_with("ans")) {
      answered = true;
      continue;
    }
    const uint64_t seq = std::stoull(line.substr(line.rfind(' ') + 1));
    if (answered) {
      EXPECT_GT(seq, ans.top) << line;
    }
  }
  std::vector<uint64_t> expected_replay;
  for (uint64_t s = 3; s <= ans.top; ++s) {
    expected_replay.push_back(s);
  }
  EXPECT_EQ(ans.seqs, expected_replay);
  EXPECT_FALSE(ans.gap);
  // After the answer, the live stream goes on from top + 1.
  std::vector<uint64_t> after;
  answered = false;
  for (const std::string& line : rec_a.log) {
    if (answered) {
      after.push_back(std::stoull(line.substr(line.rfind(' ') + 1)));
    }
    answered = answered || line.starts_with("ans");
  }
  ASSERT_FALSE(after.empty());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i], ans.top + 1 + i);
  }
}

TEST_F(redis_recovery_test, answers_never_precede_live_messages_at_or_below_their_top) {
  recorder rec_a;
  recorder rec_b;
  auto [a, b] = start_two_nodes(rec_a, rec_b);
  ASSERT_TRUE(all_ready());
  a.watch("s");
  a.query("s", {}, 1000);  // answered once subscribed: every publish below comes live
  ASSERT_TRUE(pump_until([&] { return rec_a.answers.count(1000) != 0; }));
  rec_a.answers.clear();
  rec_a.log.clear();
  uint64_t ticket = 0;
  uint64_t queries = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 3; ++i) {
      b.publish({"s", "0", ticket++});
    }
    if (round % 4 == 0) {
      a.query("s", {}, queries++);
    }
    turn();
  }
  ASSERT_TRUE(pump_until([&] {
    return rec_b.acks.size() == ticket && rec_a.answers.size() == queries &&
           rec_a.messages.size() == ticket;
  })) << rec_b.acks.size() << "/" << ticket << " acks, " << rec_a.answers.size() << "/"
      << queries << " answers, " << rec_a.messages.size() << " messages";
  EXPECT_TRUE(consecutive(rec_a, "s"));
  uint64_t delivered = 0;
  for (const std::string& line : rec_a.log) {
    const uint64_t n = std::stoull(line.substr(line.rfind(' ') + 1));
    if (line.starts_with("msg")) {
      delivered = n;
    } else {
      EXPECT_GE(delivered, n) << "answer with top " << n << " before its live messages";
    }
  }
}

}  // namespace
}  // namespace wsa::test
