// A shard's local subscriptions: first/last announcements, a slot with many keys (removal by
// position table), partial removal, key ids reused, and the fan-out's de-duplication.
#include "router/subscriptions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace wsa {
namespace {

std::vector<uint32_t> reached(subscriptions& subs, std::string_view tag) {
  std::vector<uint32_t> out;
  std::vector<subscriptions::latest_target> latest;
  subs.collect(tag, delivery_scope::all, out, latest, [](uint32_t) { return false; });
  EXPECT_TRUE(latest.empty());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(subscriptions, announces_a_keys_first_and_last_local_subscriber) {
  subscriptions subs;
  bool changed = false;
  EXPECT_TRUE(subs.add({1, 0}, "a.b", changed));
  EXPECT_TRUE(changed);
  EXPECT_FALSE(subs.add({2, 0}, "a.b", changed));
  EXPECT_TRUE(changed);
  EXPECT_FALSE(subs.add({2, 0}, "a.b", changed));  // held already
  EXPECT_FALSE(changed);
  EXPECT_FALSE(subs.remove(1, "a.b", changed));
  EXPECT_TRUE(changed);
  EXPECT_FALSE(subs.remove(1, "a.b", changed));  // not held any more
  EXPECT_FALSE(changed);
  EXPECT_TRUE(subs.remove(2, "a.b", changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(subs.count(1) + subs.count(2), 0u);
  EXPECT_TRUE(subs.add({3, 0}, "a.b", changed));  // first again
}

// Past 16 keys a slot's keys are found through the position table; removing them in any
// order keeps every other key held, down to none and back.
TEST(subscriptions, a_slot_with_many_keys_removes_each_in_any_order) {
  subscriptions subs;
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("t." + std::to_string(i));
  }
  bool changed = false;
  for (const std::string& k : keys) {
    EXPECT_TRUE(subs.add({7, 0}, k, changed));
    EXPECT_TRUE(subs.add({3000, 0}, k, changed) == false);
  }
  EXPECT_EQ(subs.count(7), 100u);
  std::mt19937 rng(42);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_FALSE(subs.remove(7, keys[i], changed)) << keys[i];  // slot 3000 still holds it
    EXPECT_TRUE(changed);
    EXPECT_FALSE(subs.holds(7, keys[i]));
    EXPECT_EQ(subs.count(7), keys.size() - i - 1);
    for (std::size_t j = i + 1; j < keys.size(); j += 7) {
      EXPECT_TRUE(subs.holds(7, keys[j])) << keys[j];
    }
  }
  for (const std::string& k : keys) {
    EXPECT_TRUE(subs.remove(3000, k, changed));  // the last holder
  }
  EXPECT_TRUE(subs.add({7, 0}, keys[0], changed));
}

TEST(subscriptions, remove_if_takes_the_selected_keys_and_reports_the_last_holders) {
  subscriptions subs;
  bool changed = false;
  for (int i = 0; i < 40; ++i) {
    subs.add({5, 0}, "k." + std::to_string(i), changed);
  }
  subs.add({6, 0}, "k.0", changed);
  std::vector<std::string> last;
  const std::size_t removed = subs.remove_if(
      5, [](std::string_view k) { return k.back() == '0'; },
      [&](std::string_view k) { last.emplace_back(k); });
  EXPECT_EQ(removed, 4u);  // k.0 k.10 k.20 k.30
  std::sort(last.begin(), last.end());
  EXPECT_EQ(last, (std::vector<std::string>{"k.10", "k.20", "k.30"}));  // slot 6 holds k.0
  EXPECT_EQ(subs.count(5), 36u);
  EXPECT_TRUE(subs.holds(5, "k.1"));
  EXPECT_FALSE(subs.holds(5, "k.10"));
  last.clear();
  subs.remove_all(5, [&](std::string_view k) { last.emplace_back(k); });
  EXPECT_EQ(last.size(), 36u);
  EXPECT_EQ(subs.count(5), 0u);
  EXPECT_EQ(reached(subs, "k.0"), std::vector<uint32_t>{6});
  EXPECT_TRUE(reached(subs, "k.1").empty());
}

TEST(subscriptions, a_slot_matching_several_times_is_reached_once) {
  subscriptions subs;
  bool changed = false;
  subs.add({1, 0}, "a.b", changed);
  subs.add({1, 0}, "a.*", changed);
  subs.add({1, 0}, "a.>", changed);
  subs.add({2, 0}, "a.*", changed);
  subs.add({2000, 0}, "a.b", changed);
  EXPECT_EQ(reached(subs, "a.b"), (std::vector<uint32_t>{1, 2, 2000}));
  EXPECT_EQ(reached(subs, "a.b"), (std::vector<uint32_t>{1, 2, 2000}));  // a new stamp
  std::vector<uint32_t> patterns_only;
  std::vector<subscriptions::latest_target> latest;
  subs.collect("a.b", delivery_scope::patterns, patterns_only, latest,
               [](uint32_t) { return false; });
  EXPECT_EQ(patterns_only, std::vector<uint32_t>{2});  // exact holders get the tag's stream
}

TEST(subscriptions, conflated_keys_route_apart_and_the_fullest_mode_wins) {
  subscriptions subs;
  bool changed = false;
  subs.add({3, 7}, "c.>", changed, 100);
  subs.add({4, 9}, "c.>", changed, 100);
  subs.add({4, 9}, "c.*", changed, 40);
  subs.add({4, 9}, "c.x", changed);  // every message of c.x
  EXPECT_EQ(subs.latest_ms(3, "c.>"), 100u);
  EXPECT_EQ(subs.latest_ms(4, "c.x"), 0u);
  const auto route = [&](std::string_view tag, std::vector<uint32_t>& out,
                         std::vector<subscriptions::latest_target>& latest) {
    out.clear();
    latest.clear();
    subs.collect(tag, delivery_scope::all, out, latest, [](uint32_t) { return false; });
  };
  std::vector<uint32_t> out;
  std::vector<subscriptions::latest_target> latest;
  route("c.x", out, latest);
  EXPECT_EQ(out, std::vector<uint32_t>{4});
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].who.slot, 3u);
  EXPECT_EQ(latest[0].who.generation, 7u);
  EXPECT_EQ(latest[0].interval_ms, 100u);
  route("c.y", out, latest);
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(latest.size(), 2u);
  std::sort(latest.begin(), latest.end(),
            [](const auto& a, const auto& b) { return a.who.slot < b.who.slot; });
  EXPECT_EQ(latest[1].interval_ms, 40u);  // the shortest of its matching keys
  // A held key takes a new mode; removing the conflated keys ends conflation.
  subs.add({3, 7}, "c.>", changed, 0);
  EXPECT_EQ(subs.latest_ms(3, "c.>"), 0u);
  bool removed = false;
  subs.remove(4, "c.*", removed);
  subs.remove(4, "c.>", removed);
  route("c.y", out, latest);
  EXPECT_EQ(out, std::vector<uint32_t>{3});
  EXPECT_TRUE(latest.empty());
}

}  // namespace
}  // namespace wsa
