// The embedded broker: seq numbering, publication times, the order of its results (a
// publish's `published` before its `message`), the bounded history ring, and the `since`
// rules. Its bounds on retained state are embedded_bounds_test.cpp's.
#include "broker/embedded.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "events_recorder.h"
#include "util/clock.h"

namespace wsa {
namespace {

class embedded_broker_test : public ::testing::Test {
 protected:
  void publish_n(std::string_view tag, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string data = "{\"n\":" + std::to_string(i) + "}";
      broker_.publish({tag, data, 7});
    }
    rec_.take(events_);
  }
  since_request since(uint64_t seq, std::string_view epoch = {}) {
    return since_request{true, seq, epoch};
  }
  /// Asks for `tag` and returns the answer (the embedded broker answers at once).
  test::recorded_events::answer query(std::string_view tag, since_request s) {
    broker_.query(tag, s, ++ticket_);
    rec_.take(events_);
    EXPECT_EQ(rec_.answers.count(ticket_), 1u);
    return rec_.answers[ticket_];
  }

  shard_metrics metrics_;
  broker_events events_;
  test::recorded_events rec_;
  embedded_broker broker_{events_, embedded_options{"ab12cd34", 4, 1 << 30, 0}, metrics_};
  uint64_t ticket_ = 100;
};

TEST_F(embedded_broker_test, seq_starts_at_one_per_tag_and_grows_by_one) {
  publish_n("a", 3);
  publish_n("b", 2);
  ASSERT_EQ(rec_.acks.size(), 5u);
  EXPECT_EQ(rec_.acks[0].seq, 1u);
  EXPECT_EQ(rec_.acks[2].seq, 3u);
  EXPECT_EQ(rec_.acks[3].seq, 1u);
  EXPECT_EQ(rec_.acks[4].seq, 2u);
  ASSERT_EQ(rec_.messages.size(), 5u);
  EXPECT_EQ(rec_.messages.back().tag, "b");
  EXPECT_EQ(rec_.messages.back().seq, 2u);
  EXPECT_EQ(rec_.messages.back().scope, delivery_scope::all);
  EXPECT_EQ(metrics_.tags_owned.get(), 2u);
}

TEST_F(embedded_broker_test, each_publish_is_acknowledged_before_its_message_flows) {
  publish_n("a", 2);
  EXPECT_EQ(rec_.all, (std::vector<std::string>{"pub 7 1", "msg a 1", "pub 7 2", "msg a 2"}));
}

TEST_F(embedded_broker_test, a_message_carries_the_data_verbatim_and_its_publication_time) {
  const int64_t before = unix_ms();
  broker_.publish({"chat.lobby", "{ \"text\" : \"hi\" }", 1});
  rec_.take(events_);
  const int64_t after = unix_ms();
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].data, "{ \"text\" : \"hi\" }");
  ASSERT_EQ(rec_.acks.size(), 1u);
  EXPECT_GE(rec_.acks[0].ts_ms, before);
  EXPECT_LE(rec_.acks[0].ts_ms, after);
  // The history holds the same message.
  const auto a = query("chat.lobby", since(0));
  ASSERT_EQ(a.data.size(), 1u);
  EXPECT_EQ(a.data[0], "{ \"text\" : \"hi\" }");
}

TEST_F(embedded_broker_test, publisher_metadata_is_kept_with_the_message_and_its_history) {
  broker_.publish({"dev.1", "1", 1, {}, std::string_view("\x05meta", 5)});
  broker_.publish({"dev.1", "2", 2});
  rec_.take(events_);
  ASSERT_EQ(rec_.messages.size(), 2u);
  EXPECT_EQ(rec_.messages[0].meta, std::string_view("\x05meta", 5));
  EXPECT_EQ(rec_.messages[1].meta, "");
  const auto a = query("dev.1", since(0));
  EXPECT_EQ(a.meta, (std::vector<std::string>{std::string("\x05meta", 5), ""}));
}

TEST_F(embedded_broker_test, position_of_unknown_tag_is_zero_with_the_epoch) {
  const auto a = query("never.published", since_request{});
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.top, 0u);
  EXPECT_EQ(a.epoch, "ab12cd34");
  EXPECT_FALSE(a.gap);
  EXPECT_TRUE(a.seqs.empty());
}

TEST_F(embedded_broker_test, since_within_history_replays_exactly_the_missed) {
  publish_n("t", 3);
  auto a = query("t", since(1));
  EXPECT_EQ(a.top, 3u);
  EXPECT_FALSE(a.gap);
  EXPECT_EQ(a.seqs, (std::vector<uint64_t>{2, 3}));
  a = query("t", since(3));
  EXPECT_TRUE(a.seqs.empty());
  EXPECT_FALSE(a.gap);
}

TEST_F(embedded_broker_test, history_is_bounded_and_trimmed_history_is_a_gap) {
  publish_n("t", 10);  // history 4: keeps 7..10
  auto a = query("t", since(6));
  EXPECT_FALSE(a.gap);  // 7.. is all there
  EXPECT_EQ(a.seqs, (std::vector<uint64_t>{7, 8, 9, 10}));
  a = query("t", since(2));
  EXPECT_TRUE(a.gap);
  EXPECT_EQ(a.seqs, (std::vector<uint64_t>{7, 8, 9, 10}));
}

TEST_F(embedded_broker_test, ring_keeps_order_while_growing_and_wrapping) {
  for (int round = 1; round <= 9; ++round) {
    broker_.publish({"w", std::to_string(round), 1});
    const auto a = query("w", since(0));
    std::vector<uint64_t> expected;
    for (int s = std::max(1, round - 3); s <= round; ++s) {
      expected.push_back(static_cast<uint64_t>(s));
    }
    EXPECT_EQ(a.seqs, expected) << "after " << round;
    // Each retained message really is the one with that seq.
    for (std::size_t i = 0; i < a.seqs.size(); ++i) {
      EXPECT_EQ(a.data[i], std::to_string(a.seqs[i]));
    }
  }
}

TEST_F(embedded_broker_test, other_epoch_is_a_gap_and_replays_everything_retained) {
  publish_n("t", 3);
  auto a = query("t", since(2, "00000000"));
  EXPECT_TRUE(a.gap);
  EXPECT_EQ(a.seqs, (std::vector<uint64_t>{1, 2, 3}));
  a = query("t", since(2, "ab12cd34"));
  EXPECT_FALSE(a.gap);
  EXPECT_EQ(a.seqs, (std::vector<uint64_t>{3}));
}

TEST_F(embedded_broker_test, since_beyond_top_belongs_to_another_life) {
  publish_n("t", 2);
  const auto a = query("t", since(50));
  EXPECT_TRUE(a.gap);
  EXPECT_EQ(a.seqs, (std::vector<uint64_t>{1, 2}));
}

TEST(embedded_broker_no_history, publishing_without_history_reports_gaps) {
  shard_metrics metrics;
  broker_events events;
  test::recorded_events rec;
  embedded_broker broker(events, embedded_options{"e", 0, 1 << 30, 0}, metrics);
  broker.publish({"t", "1", 1});
  broker.query("t", since_request{true, 0, {}}, 1);
  broker.query("t", since_request{true, 1, {}}, 2);
  rec.take(events);
  EXPECT_TRUE(rec.answers[1].gap);
  EXPECT_TRUE(rec.answers[1].seqs.empty());
  EXPECT_FALSE(rec.answers[2].gap);
}

}  // namespace
}  // namespace wsa
