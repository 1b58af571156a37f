// The embedded broker: seq numbering, the bounded history ring, the `since` rules, and the
// node-wide bounds on retained state (byte budget, age, idle tags, epochs of new lives).
#include "broker/embedded.h"
#include "embedded_recorder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsa {
namespace {

class embedded_broker_test : public ::testing::Test {
 protected:
  void publish_n(std::string_view tag, int n) {
    for (int i = 0; i < n; ++i) {
      broker_.publish(tag, "{\"n\":" + std::to_string(i) + "}", 7);
    }
  }
  since_request since(uint64_t seq, std::string_view epoch = {}) {
    return since_request{true, seq, epoch};
  }
  shard_metrics metrics_;
  embedded_recorder rec_;
  embedded_broker broker_{rec_, embedded_options{"ab12cd34", 4, 1 << 30, 0}, metrics_};
};

TEST_F(embedded_broker_test, seq_starts_at_one_per_tag_and_grows_by_one) {
  publish_n("a", 3);
  publish_n("b", 2);
  ASSERT_EQ(rec_.acks.size(), 5u);
  EXPECT_EQ(rec_.acks[0].seq, 1u);
  EXPECT_EQ(rec_.acks[2].seq, 3u);
  EXPECT_EQ(rec_.acks[3].seq, 1u);
  EXPECT_EQ(rec_.acks[4].seq, 2u);
  EXPECT_EQ(rec_.messages.back(), (std::pair<std::string, uint64_t>{"b", 2}));
  EXPECT_EQ(metrics_.tags_owned.get(), 2u);
}

TEST_F(embedded_broker_test, message_frame_is_a_text_frame_with_the_data_verbatim) {
  broker_.publish("chat.lobby", "{ \"text\" : \"hi\" }", 1);
  broker_.query("chat.lobby", since(0), 2);
  ASSERT_EQ(rec_.replayed_frames.size(), 1u);
  const std::string& f = rec_.replayed_frames[0];
  EXPECT_EQ(static_cast<unsigned char>(f[0]), 0x81);  // FIN + text
  EXPECT_EQ(f.substr(2), R"({"op":"msg","tag":"chat.lobby","seq":1,"data":{ "text" : "hi" }})");
  EXPECT_EQ(static_cast<std::size_t>(f[1]), f.size() - 2);
}

TEST_F(embedded_broker_test, position_of_unknown_tag_is_zero_with_the_epoch) {
  broker_.query("never.published", since_request{}, 1);
  EXPECT_EQ(rec_.position.top, 0u);
  EXPECT_EQ(rec_.epoch, "ab12cd34");
  EXPECT_FALSE(rec_.position.gap);
  EXPECT_TRUE(rec_.replayed.empty());
}

TEST_F(embedded_broker_test, since_within_history_replays_exactly_the_missed) {
  publish_n("t", 3);
  broker_.query("t", since(1), 1);
  EXPECT_EQ(rec_.position.top, 3u);
  EXPECT_FALSE(rec_.position.gap);
  EXPECT_EQ(rec_.replayed, (std::vector<uint64_t>{2, 3}));
  broker_.query("t", since(3), 1);
  EXPECT_TRUE(rec_.replayed.empty());
  EXPECT_FALSE(rec_.position.gap);
}

TEST_F(embedded_broker_test, history_is_bounded_and_trimmed_history_is_a_gap) {
  publish_n("t", 10);  // history 4: keeps 7..10
  broker_.query("t", since(6), 1);
  EXPECT_FALSE(rec_.position.gap);  // 7.. is all there
  EXPECT_EQ(rec_.replayed, (std::vector<uint64_t>{7, 8, 9, 10}));
  broker_.query("t", since(2), 1);
  EXPECT_TRUE(rec_.position.gap);
  EXPECT_EQ(rec_.replayed, (std::vector<uint64_t>{7, 8, 9, 10}));
}

TEST_F(embedded_broker_test, ring_keeps_order_while_growing_and_wrapping) {
  for (int round = 1; round <= 9; ++round) {
    publish_n("w", 1);
    broker_.query("w", since(0), 1);
    std::vector<uint64_t> expected;
    for (int s = std::max(1, round - 3); s <= round; ++s) {
      expected.push_back(static_cast<uint64_t>(s));
    }
    EXPECT_EQ(rec_.replayed, expected) << "after " << round;
    // Each frame really is the message with that seq.
    for (std::size_t i = 0; i < rec_.replayed.size(); ++i) {
      EXPECT_NE(rec_.replayed_frames[i].find("\"seq\":" + std::to_string(rec_.replayed[i]) + ","),
                std::string::npos);
    }
  }
}

TEST_F(embedded_broker_test, other_epoch_is_a_gap_and_replays_everything_retained) {
  publish_n("t", 3);
  broker_.query("t", since(2, "00000000"), 1);
  EXPECT_TRUE(rec_.position.gap);
  EXPECT_EQ(rec_.replayed, (std::vector<uint64_t>{1, 2, 3}));
  broker_.query("t", since(2, "ab12cd34"), 1);
  EXPECT_FALSE(rec_.position.gap);
  EXPECT_EQ(rec_.replayed, (std::vector<uint64_t>{3}));
}

TEST_F(embedded_broker_test, since_beyond_top_belongs_to_another_life) {
  publish_n("t", 2);
  broker_.query("t", since(50), 1);
  EXPECT_TRUE(rec_.position.gap);
  EXPECT_EQ(rec_.replayed, (std::vector<uint64_t>{1, 2}));
}

TEST(embedded_broker_no_history, publishing_without_history_reports_gaps) {
  shard_metrics metrics;
  embedded_recorder rec;
  embedded_broker broker(rec, embedded_options{"e", 0, 1 << 30, 0}, metrics);
  broker.publish("t", "1", 1);
  broker.query("t", since_request{true, 0, {}}, 1);
  EXPECT_TRUE(rec.position.gap);
  EXPECT_TRUE(rec.replayed.empty());
  broker.query("t", since_request{true, 1, {}}, 1);
  EXPECT_FALSE(rec.position.gap);
}

}  // namespace
}  // namespace wsa
