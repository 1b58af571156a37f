// The embedded broker's bounds on retained state (issue 8): the byte budget drops the oldest
// messages of all tags in publish order, tags idle past the age limit or squeezed by the
// budget are forgotten, and a forgotten tag's next life has a new epoch, so that `since`
// from an earlier life always yields a gap and never a wrong message.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/embedded.h"
#include "events_recorder.h"

namespace wsa {
namespace {

constexpr std::string_view epoch0 = "ab12cd34";

class embedded_bounds_test : public ::testing::Test {
 protected:
  void start(uint32_t history_size, uint64_t max_bytes, int64_t max_age_ms = 0) {
    broker_ = std::make_unique<embedded_broker>(
        events_, embedded_options{std::string(epoch0), history_size, max_bytes, max_age_ms},
        metrics_);
    broker_->advance(1000);
  }
  uint64_t publish(std::string_view tag, std::size_t bytes = 10) {
    const std::string data = "\"" + std::string(bytes, 'x') + "\"";
    broker_->publish({tag, data, 1});
    rec_.take(events_);
    return rec_.acks.back().seq;
  }
  /// The broker's answer to a query (it answers at once).
  test::recorded_events::answer ask(std::string_view tag, since_request since) {
    broker_->query(tag, since, 1);
    rec_.take(events_);
    return rec_.answers[1];
  }
  // The retained seqs of `tag` (since 0).
  std::vector<uint64_t> retained(std::string_view tag) {
    return ask(tag, since_request{true, 0, {}}).seqs;
  }
  std::string epoch_of(std::string_view tag) { return ask(tag, since_request{}).epoch; }

  shard_metrics metrics_;
  broker_events events_;
  test::recorded_events rec_;
  std::unique_ptr<embedded_broker> broker_;
};

TEST_F(embedded_bounds_test, budget_drops_the_oldest_messages_of_all_tags_first) {
  constexpr uint64_t budget = 64 * 1024;
  start(1000, budget);
  // Interleaved publishes to three tags, 1 KiB each: about 200 KiB in all.
  std::vector<std::pair<std::string, uint64_t>> order;
  const char* tags[] = {"a", "b.c", "d"};
  for (int i = 0; i < 200; ++i) {
    const std::string tag = tags[(i * 7) % 3];
    order.emplace_back(tag, publish(tag, 1024));
    EXPECT_LE(broker_->retained_bytes(), budget);
  }
  EXPECT_GT(metrics_.history_evictions.get(), 0u);
  EXPECT_EQ(metrics_.history_messages.get(), broker_->retained_messages());
  std::set<std::pair<std::string, uint64_t>> kept;
  for (const char* tag : tags) {
    for (uint64_t seq : retained(tag)) {
      kept.emplace(tag, seq);
    }
  }
  ASSERT_FALSE(kept.empty());
  ASSERT_LT(kept.size(), order.size());
  // What is kept is exactly the newest messages in publish order, whatever their tag.
  const std::size_t first_kept = order.size() - kept.size();
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(kept.count(order[i]) == 1, i >= first_kept) << order[i].first << " "
                                                          << order[i].second;
  }
}

TEST_F(embedded_bounds_test, since_an_evicted_position_is_a_gap_with_what_is_retained) {
  start(1000, 32 * 1024);
  for (int i = 0; i < 100; ++i) {
    publish("t", 1024);
  }
  const std::vector<uint64_t> kept = retained("t");
  ASSERT_FALSE(kept.empty());
  ASSERT_GT(kept.front(), 2u);
  auto answer = ask("t", since_request{true, 1, epoch0});
  EXPECT_TRUE(answer.gap);
  EXPECT_EQ(answer.seqs, kept);  // every retained message, in order, none invented
  EXPECT_EQ(answer.top, 100u);
  // A position the history still reaches is no gap.
  answer = ask("t", since_request{true, kept.front() - 1, epoch0});
  EXPECT_FALSE(answer.gap);
  EXPECT_EQ(answer.seqs, kept);
}

TEST_F(embedded_bounds_test, a_forgotten_tag_starts_a_new_life_with_a_new_epoch) {
  start(16, 1 << 20, /*max_age_ms=*/1000);
  publish("t");
  publish("t");
  publish("t");
  EXPECT_EQ(epoch_of("t"), epoch0);
  broker_->advance(2001);  // idle longer than the age limit: messages and tag go
  EXPECT_EQ(broker_->tag_count(), 0u);
  EXPECT_EQ(metrics_.history_expired.get(), 3u);
  EXPECT_EQ(metrics_.tags_forgotten.get(), 1u);
  EXPECT_EQ(metrics_.tags_owned.get(), 0u);

  EXPECT_EQ(publish("t"), 1u);
  const std::string epoch1 = epoch_of("t");
  EXPECT_NE(epoch1, epoch0);
  EXPECT_TRUE(epoch1.starts_with(epoch0));
  // A client of the first life (seq 3 there) is told it has a gap and gets the new life.
  auto answer = ask("t", since_request{true, 3, epoch0});
  EXPECT_TRUE(answer.gap);
  EXPECT_EQ(answer.seqs, (std::vector<uint64_t>{1}));
  // Even when the new life has passed the old seq.
  publish("t");
  publish("t");
  publish("t");
  answer = ask("t", since_request{true, 3, epoch0});
  EXPECT_TRUE(answer.gap);
  EXPECT_EQ(answer.seqs, (std::vector<uint64_t>{1, 2, 3, 4}));
  answer = ask("t", since_request{true, 3, epoch1});
  EXPECT_FALSE(answer.gap);
  EXPECT_EQ(answer.seqs, (std::vector<uint64_t>{4}));
}

TEST_F(embedded_bounds_test, every_life_of_a_tag_has_its_own_epoch) {
  start(4, 1 << 20, 1000);
  std::set<std::string> epochs;
  for (int life = 0; life < 20; ++life) {
    publish("t");
    publish("other");
    epochs.insert(epoch_of("t"));
    broker_->advance(1000 + (life + 1) * 1001);
  }
  EXPECT_EQ(epochs.size(), 20u);
}

TEST_F(embedded_bounds_test, a_subscription_to_a_tag_without_messages_leaves_nothing) {
  start(16, 1 << 20);
  broker_->watch("never.published");
  EXPECT_EQ(broker_->tag_count(), 1u);
  broker_->unwatch("never.published");
  EXPECT_EQ(broker_->tag_count(), 0u);
  EXPECT_EQ(metrics_.tags_owned.get(), 0u);
  // Nothing was numbered: the next life keeps the node's epoch.
  EXPECT_EQ(epoch_of("never.published"), epoch0);
  broker_->watch("a.*");  // patterns are not the embedded broker's business
  EXPECT_EQ(broker_->tag_count(), 0u);
}

TEST_F(embedded_bounds_test, a_watched_tag_keeps_its_numbers_when_its_history_goes) {
  start(1000, 32 * 1024, 1000);
  broker_->watch("w");
  publish("w");
  publish("w");
  broker_->advance(3000);  // expired, but subscribed: the tag stays
  EXPECT_EQ(metrics_.history_expired.get(), 2u);
  EXPECT_EQ(broker_->tag_count(), 1u);
  EXPECT_EQ(publish("w"), 3u);
  EXPECT_EQ(epoch_of("w"), epoch0);
  for (int i = 0; i < 100; ++i) {
    publish("flood." + std::to_string(i), 1024);  // squeezes w's history out
  }
  EXPECT_TRUE(retained("w").empty());
  EXPECT_EQ(publish("w"), 4u);
  // Unwatched, it lives on with its history; once that is older than the age limit,
  // the tag goes too.
  broker_->unwatch("w");
  broker_->advance(3500);
  EXPECT_EQ(retained("w"), (std::vector<uint64_t>{4}));
  EXPECT_EQ(rec_.answers[1].top, 4u);
  broker_->advance(4001);
  EXPECT_EQ(broker_->tag_count(), 0u);
  EXPECT_EQ(metrics_.tags_owned.get(), 0u);
}

TEST_F(embedded_bounds_test, idle_tags_are_bounded_by_the_budget_without_history) {
  start(0, 256 * 1024);
  for (int i = 0; i < 20000; ++i) {
    publish("fresh." + std::to_string(i));
    ASSERT_LE(broker_->retained_bytes(), 256u * 1024);
  }
  EXPECT_LT(broker_->tag_count(), 20000u);
  EXPECT_GT(metrics_.tags_forgotten.get(), 0u);
  EXPECT_EQ(metrics_.tags_owned.get(), broker_->tag_count());
  // The newest tag still has its number.
  EXPECT_EQ(publish("fresh.19999"), 2u);
}

TEST_F(embedded_bounds_test, stale_entries_behind_an_old_message_do_not_pile_up) {
  start(4, 1 << 30);
  publish("old");
  for (int i = 0; i < 200000; ++i) {
    publish("hot");
  }
  // 5 messages retained; the FIFO of 200001 entries must have been compacted.
  EXPECT_EQ(broker_->retained_messages(), 5u);
  EXPECT_LT(broker_->retained_bytes(), 256u * 1024);
  EXPECT_EQ(retained("old"), (std::vector<uint64_t>{1}));
  EXPECT_EQ(retained("hot"), (std::vector<uint64_t>{199997, 199998, 199999, 200000}));
}

}  // namespace
}  // namespace wsa
