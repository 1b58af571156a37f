// The persistent session record: encoding round trips, every truncation and every flipped
// byte decoded safely, refusals of invalid content; the position tracker's snapshot (the
// unacknowledged pull positions back, epochs, the bound, resume time).
#include "mqtt/session_record.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <random>
#include <string>

namespace wsa::mqtt {
namespace {

session_record sample() {
  session_record r;
  r.level = protocol::v5;
  r.expiry_interval = 3600;
  r.ended_at_ms = 1'764'950'400'123;
  r.resume_ts_ms = 1'764'950'390'000;
  r.next_reception = 300;
  r.qos2_held = {{7, 298}, {65535, 299}};
  r.subscriptions = {
      {"sensors/#",
       {.qos = 1,
        .no_local = true,
        .retain_as_published = true,
        .retain_handling = 2,
        .subscription_id = 268'435'455}},
      {"a/+/c", {.qos = 0}},
  };
  r.positions = {{"sensors.a", "9f2c", 57}, {"sensors.b", "", UINT64_MAX}};
  return r;
}

TEST(mqtt_session_record, round_trip) {
  for (const session_record& r : {session_record{}, sample()}) {
    std::string bytes;
    encode_session_record(r, bytes);
    session_record back;
    ASSERT_TRUE(decode_session_record(bytes, back));
    EXPECT_EQ(back, r);
  }
  std::string bytes;
  encode_session_record(sample(), bytes);
  EXPECT_LT(bytes.size(), 120u) << "compact";
}

TEST(mqtt_session_record, corrupt_bytes_are_refused_or_decoded_safely) {
  std::string bytes;
  encode_session_record(sample(), bytes);
  session_record r;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_session_record(std::string_view(bytes).substr(0, n), r)) << n;
  }
  EXPECT_FALSE(decode_session_record(bytes + "x", r)) << "trailing byte";
  std::mt19937 rng(9);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int k = 0; k < 20; ++k) {
      std::string flipped = bytes;
      flipped[i] = static_cast<char>(rng());
      decode_session_record(flipped, r);  // must not crash; ASan/UBSan builds check it
    }
  }
  for (int i = 0; i < 10000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) {
      c = static_cast<char>(rng());
    }
    decode_session_record(junk, r);
  }
}

TEST(mqtt_session_record, invalid_content_is_refused) {
  session_record r;
  std::string bytes;
  session_record bad = sample();
  bad.subscriptions[0].filter = "a//b";
  encode_session_record(bad, bytes);
  EXPECT_FALSE(decode_session_record(bytes, r)) << "a filter that maps to no pattern";
  bytes.clear();
  bad = sample();
  bad.subscriptions[0].options.qos = 2;
  encode_session_record(bad, bytes);
  EXPECT_FALSE(decode_session_record(bytes, r)) << "QoS above what is granted";
  bytes.clear();
  bad = sample();
  bad.qos2_held[0].first = 0;
  encode_session_record(bad, bytes);
  EXPECT_FALSE(decode_session_record(bytes, r)) << "packet identifier 0";
  bytes.clear();
  encode_session_record(sample(), bytes);
  bytes[0] = 2;
  EXPECT_FALSE(decode_session_record(bytes, r)) << "unknown version";
}

TEST(mqtt_session_record, expiry) {
  session_record r;
  r.expiry_interval = 10;
  EXPECT_FALSE(session_expired(r, 1'000'000)) << "connected";
  r.ended_at_ms = 1'000'000;
  EXPECT_FALSE(session_expired(r, 1'009'999));
  EXPECT_TRUE(session_expired(r, 1'010'000));
  r.expiry_interval = 0;
  EXPECT_TRUE(session_expired(r, 1'000'000));
}

TEST(mqtt_position_tracker, snapshot_pulls_back_unacknowledged) {
  position_tracker t(100);
  t.advance({"a", "e1", 5, 10'000}, false);
  t.advance({"a", "e1", 7, 11'000}, false);
  t.advance({"a", "e1", 6, 10'500}, false);  // a late PUBACK does not move it back
  t.advance({"b", "e1", 3, 12'000}, false);
  t.advance({"c", "e1", 9, 12'500}, false);
  session_record r;
  t.snapshot({}, r);
  ASSERT_EQ(r.positions.size(), 3u);
  EXPECT_EQ(r.positions[0], (stored_position{"a", "e1", 7}));
  EXPECT_EQ(r.positions[1], (stored_position{"b", "e1", 3}));
  EXPECT_EQ(r.resume_ts_ms, 12'500 - resume_margin_ms);
  // Unacknowledged: a:6 (acknowledged out of order after it), b:4 after the position, c in
  // another epoch, d never acknowledged.
  const message_position unacked[] = {{"a", "e1", 6, 10'400},
                                      {"b", "e1", 4, 12'100},
                                      {"c", "e2", 1, 13'000},
                                      {"d", "e1", 1, 9'000}};
  t.snapshot(unacked, r);
  ASSERT_EQ(r.positions.size(), 2u);
  EXPECT_EQ(r.positions[0], (stored_position{"a", "e1", 5}));
  EXPECT_EQ(r.positions[1], (stored_position{"b", "e1", 3}));
  EXPECT_EQ(r.resume_ts_ms, 9'000) << "the oldest unacknowledged publish time";
}

TEST(mqtt_position_tracker, a_tags_first_message_unacknowledged_keeps_the_position_at_0) {
  position_tracker t(100);
  t.advance({"a", "e1", 0, 0}, true);  // subscribed before the tag's first message
  const message_position unacked[] = {{"a", "e1", 1, 10'000}};
  session_record r;
  t.snapshot(unacked, r);
  ASSERT_EQ(r.positions.size(), 1u) << "replayed from the start, not by time";
  EXPECT_EQ(r.positions[0], (stored_position{"a", "e1", 0}));
}

TEST(mqtt_position_tracker, epochs_bound_and_restore) {
  position_tracker t(2);
  t.advance({"a", "e1", 50, 1'000}, false);
  t.advance({"a", "e2", 3, 2'000}, false);  // the tag's numbering restarted
  t.advance({"b", "e1", 1, 3'000}, false);
  t.advance({"c", "e1", 1, 4'000}, false);  // over the bound: the oldest (a) goes
  EXPECT_EQ(t.size(), 2u);
  session_record r;
  t.snapshot({}, r);
  ASSERT_EQ(r.positions.size(), 2u);
  EXPECT_EQ(r.positions[0].tag, "b");
  EXPECT_EQ(r.positions[1].tag, "c");
  position_tracker back(10);
  back.restore(r);
  session_record again;
  back.snapshot({}, again);
  EXPECT_EQ(again.positions, r.positions);
  EXPECT_EQ(again.resume_ts_ms, r.resume_ts_ms) << "nothing new: the restored time stands";
}

TEST(mqtt_position_tracker, forgets_the_older_half_at_once_never_a_pinned_tag) {
  position_tracker t(4);
  EXPECT_EQ(t.advance({"pinned", "e", 1, 100}, true), 0u);  // the oldest, but pinned
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.advance({"w" + std::to_string(i), "e", 1, 1'000 + i}, false), 0u);
  }
  // Full: a new tag forgets the older half of the unpinned ones (w0), not one per tag.
  EXPECT_EQ(t.advance({"w3", "e", 1, 2'000}, false), 1u);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.advance({"w4", "e", 1, 2'001}, false), 1u);  // w1
  session_record r;
  t.snapshot({}, r);
  std::vector<std::string> kept;
  for (const stored_position& p : r.positions) {
    kept.push_back(p.tag);
  }
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"pinned", "w2", "w3", "w4"}));
  // A pinned tag is kept even past the bound.
  EXPECT_EQ(t.advance({"pinned2", "e", 1, 50}, true), 0u);
  EXPECT_EQ(t.size(), 5u);
}

TEST(mqtt_position_tracker, an_unpinned_tag_is_dropped_or_forgettable_again) {
  position_tracker t(2);
  int asked = 0;
  auto pinned = [&] {
    ++asked;
    return true;
  };
  EXPECT_EQ(t.advance({"a", "e", 1, 100}, pinned), 0u);
  EXPECT_EQ(t.advance({"a", "e", 2, 200}, pinned), 0u);
  EXPECT_EQ(asked, 1) << "asked once per new tag, not per delivery";
  t.advance({"b", "e", 1, 300}, pinned);
  // No subscription reaches a any more: dropped. b is still matched (a wildcard): kept,
  // but forgettable past the bound again.
  EXPECT_TRUE(t.unpin("a", false));
  EXPECT_FALSE(t.unpin("b", true));
  EXPECT_FALSE(t.unpin("never", false));
  EXPECT_EQ(t.size(), 1u);
  t.advance({"c", "e", 1, 400}, false);
  EXPECT_EQ(t.advance({"d", "e", 1, 500}, false), 1u) << "b (the older) forgotten";
  session_record r;
  t.snapshot({}, r);
  ASSERT_EQ(r.positions.size(), 2u);
}

TEST(mqtt_position_tracker, resume_time_of_a_session_never_delivered_to) {
  position_tracker t(10);
  session_record r;
  t.snapshot({}, r);
  EXPECT_EQ(r.resume_ts_ms, 0) << "no wildcard subscription: nothing to replay by time";
  t.subscribed(50'000);
  t.subscribed(60'000);  // a later SUBSCRIBE does not move it: the first one's time stands
  t.snapshot({}, r);
  EXPECT_EQ(r.resume_ts_ms, 50'000 - resume_margin_ms);
  t.advance({"a", "e", 1, 70'000}, false);
  t.snapshot({}, r);
  EXPECT_EQ(r.resume_ts_ms, 70'000 - resume_margin_ms) << "a delivery moves it on";
}

}  // namespace
}  // namespace wsa::mqtt
