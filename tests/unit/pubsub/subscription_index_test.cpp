// Tests of the per-shard subscription index: exact and wildcard subscriptions, duplicates,
// removal, pruning, large lists (position table), churn, and a randomised comparison with a
// naive model that matches every subscription with pattern_matches.
#include "pubsub/subscription_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pubsub/tag.h"

namespace wsa {
namespace {

// What for_each_subscriber reports, sorted (duplicates kept).
std::vector<uint32_t> reported(const subscription_index& index, std::string_view tag) {
  std::vector<uint32_t> out;
  index.for_each_subscriber(tag, [&](uint32_t s) { out.push_back(s); });
  std::sort(out.begin(), out.end());
  return out;
}

using ids = std::vector<uint32_t>;

TEST(pubsub_index, empty) {
  const subscription_index index;
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.exact_tags(), 0u);
  EXPECT_EQ(index.trie_nodes(), 1u);
  EXPECT_TRUE(reported(index, "a.b").empty());
  EXPECT_TRUE(index.exact_subscribers("a.b").empty());
  EXPECT_FALSE(index.has_subscribers("a.b"));
  EXPECT_FALSE(index.contains("a.b", 1));
}

TEST(pubsub_index, exact_add_remove_duplicates) {
  subscription_index index;
  EXPECT_TRUE(index.add("chat.a", 1));
  EXPECT_FALSE(index.add("chat.a", 1));
  EXPECT_TRUE(index.add("chat.a", 2));
  EXPECT_TRUE(index.add("chat.b", 1));
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.exact_tags(), 2u);
  EXPECT_EQ(reported(index, "chat.a"), (ids{1, 2}));
  EXPECT_EQ(reported(index, "chat.b"), (ids{1}));
  EXPECT_TRUE(reported(index, "chat").empty());
  EXPECT_TRUE(reported(index, "chat.a.b").empty());
  EXPECT_TRUE(index.contains("chat.a", 2));
  EXPECT_FALSE(index.contains("chat.b", 2));
  EXPECT_TRUE(index.has_subscribers("chat.b"));
  EXPECT_FALSE(index.has_subscribers("chat.c"));

  EXPECT_FALSE(index.remove("chat.b", 2));  // not subscribed
  EXPECT_FALSE(index.remove("chat.c", 1));  // no such tag
  EXPECT_FALSE(index.remove("chat.*", 1));  // a pattern is not the exact tag
  EXPECT_TRUE(index.remove("chat.a", 1));
  EXPECT_FALSE(index.remove("chat.a", 1));
  EXPECT_EQ(reported(index, "chat.a"), (ids{2}));
  EXPECT_TRUE(index.remove("chat.a", 2));
  EXPECT_EQ(index.exact_tags(), 1u);
  EXPECT_FALSE(index.has_subscribers("chat.a"));
  EXPECT_TRUE(index.remove("chat.b", 1));
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.exact_tags(), 0u);
}

TEST(pubsub_index, patterns) {
  subscription_index index;
  EXPECT_TRUE(index.add("chat.*", 1));
  EXPECT_TRUE(index.add("chat.>", 2));
  EXPECT_TRUE(index.add(">", 3));
  EXPECT_TRUE(index.add("*.b", 4));
  EXPECT_TRUE(index.add("chat.*.x", 5));
  EXPECT_TRUE(index.add("*.*.>", 6));
  EXPECT_FALSE(index.add("chat.*", 1));
  EXPECT_EQ(index.pattern_subscriptions(), 6u);
  EXPECT_EQ(index.exact_tags(), 0u);

  EXPECT_EQ(reported(index, "chat"), (ids{3}));
  EXPECT_EQ(reported(index, "chat.a"), (ids{1, 2, 3}));
  EXPECT_EQ(reported(index, "chat.b"), (ids{1, 2, 3, 4}));
  EXPECT_EQ(reported(index, "chat.a.x"), (ids{2, 3, 5, 6}));
  EXPECT_EQ(reported(index, "chat.a.y.z"), (ids{2, 3, 6}));
  EXPECT_EQ(reported(index, "news.b"), (ids{3, 4}));
  EXPECT_TRUE(index.has_subscribers("zzz"));
  EXPECT_TRUE(index.exact_subscribers("chat.a").empty());  // patterns are not exact

  EXPECT_TRUE(index.contains("chat.>", 2));
  EXPECT_FALSE(index.contains("chat.>", 1));
  EXPECT_FALSE(index.contains("chat.a", 1));  // matched, but not subscribed as such
  EXPECT_TRUE(index.remove(">", 3));
  EXPECT_FALSE(index.has_subscribers("zzz"));
  EXPECT_EQ(reported(index, "chat.b"), (ids{1, 2, 4}));
}

TEST(pubsub_index, subscriber_reported_once_per_matching_subscription) {
  subscription_index index;
  index.add("a.b", 7);
  index.add("a.*", 7);
  index.add("a.>", 7);
  index.add("a.c", 8);
  EXPECT_EQ(reported(index, "a.b"), (ids{7, 7, 7}));
  EXPECT_EQ(reported(index, "a.c"), (ids{7, 7, 8}));
  EXPECT_EQ(index.exact_subscribers("a.b").size(), 1u);
}

TEST(pubsub_index, pruning_returns_the_trie_to_its_root) {
  subscription_index index;
  index.add("a.b.c.*", 1);
  index.add("a.b.>", 1);
  index.add("a.*.c", 2);
  index.add("*.*.*.*.*", 3);
  const std::size_t nodes = index.trie_nodes();
  EXPECT_GT(nodes, 8u);
  index.remove("a.b.c.*", 1);
  EXPECT_LT(index.trie_nodes(), nodes);
  EXPECT_EQ(reported(index, "a.b.c"), (ids{1, 2}));  // the shared prefix survives
  index.remove("a.b.>", 1);
  index.remove("a.*.c", 2);
  index.remove("*.*.*.*.*", 3);
  EXPECT_EQ(index.trie_nodes(), 1u);
  EXPECT_TRUE(index.empty());
  // And the freed nodes are reused correctly.
  index.add("x.*", 4);
  index.add("x.y.>", 5);
  EXPECT_EQ(reported(index, "x.y"), (ids{4}));
  EXPECT_EQ(reported(index, "x.y.z"), (ids{5}));
  EXPECT_EQ(index.trie_nodes(), 4u);  // root, x, x.*, x.y
}

// Lists past the position-table threshold, shrinking back below it, and removal of one
// subscriber among thousands keeping all the others.
TEST(pubsub_index, large_list_keeps_the_others) {
  subscription_index index;
  constexpr uint32_t n = 10'000;
  for (uint32_t s = 0; s < n; ++s) {
    ASSERT_TRUE(index.add("room.1", s));
    ASSERT_TRUE(index.add("room.*", s + n));
  }
  EXPECT_FALSE(index.add("room.1", 1234));
  EXPECT_FALSE(index.add("room.*", n + 1234));
  EXPECT_EQ(index.exact_subscribers("room.1").size(), n);

  ASSERT_TRUE(index.remove("room.1", 1234));
  ASSERT_TRUE(index.remove("room.*", n + 4321));
  std::vector<uint32_t> got = reported(index, "room.1");
  ASSERT_EQ(got.size(), 2 * n - 2);
  std::set<uint32_t> expected;
  for (uint32_t s = 0; s < 2 * n; ++s) {
    if (s != 1234 && s != n + 4321) {
      expected.insert(s);
    }
  }
  EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()), expected);

  // Remove all but three, from the front (every removal moves the last id into the hole).
  for (uint32_t s = 0; s < n - 3; ++s) {
    EXPECT_EQ(index.remove("room.1", s), s != 1234) << s;
  }
  EXPECT_EQ(index.exact_subscribers("room.1").size(), 3u);
  for (uint32_t s = n - 3; s < n; ++s) {
    EXPECT_TRUE(index.contains("room.1", s));
    EXPECT_FALSE(index.add("room.1", s));
  }
  EXPECT_FALSE(index.contains("room.1", 0));
  EXPECT_TRUE(index.add("room.1", 0));
  EXPECT_EQ(index.exact_subscribers("room.1").size(), 4u);
}

// One subscriber churns on a tag with 10k others: positions must stay right throughout.
TEST(pubsub_index, churn_on_a_crowded_tag) {
  subscription_index index;
  for (uint32_t s = 0; s < 10'000; ++s) {
    index.add("hot", s);
  }
  std::mt19937 rng(42);
  std::set<uint32_t> present;
  for (uint32_t s = 0; s < 10'000; ++s) {
    present.insert(s);
  }
  for (int round = 0; round < 50'000; ++round) {
    const uint32_t s = rng() % 12'000;
    if (present.count(s) != 0) {
      ASSERT_TRUE(index.remove("hot", s));
      present.erase(s);
    } else {
      ASSERT_TRUE(index.add("hot", s));
      present.insert(s);
    }
  }
  const std::span<const uint32_t> subs = index.exact_subscribers("hot");
  EXPECT_EQ(std::set<uint32_t>(subs.begin(), subs.end()), present);
  EXPECT_EQ(subs.size(), present.size());
  for (uint32_t s = 0; s < 12'000; ++s) {
    ASSERT_EQ(index.contains("hot", s), present.count(s) != 0) << s;
  }
}

TEST(pubsub_index, many_tags_and_memory_returns) {
  subscription_index index;
  const std::size_t base = index.memory_bytes();
  for (uint32_t t = 0; t < 5000; ++t) {
    ASSERT_TRUE(index.add("user." + std::to_string(t) + ".inbox", t));
    ASSERT_TRUE(index.add("user." + std::to_string(t) + ".>", t));
  }
  EXPECT_EQ(index.exact_tags(), 5000u);
  EXPECT_EQ(index.size(), 10'000u);
  EXPECT_EQ(reported(index, "user.77.inbox"), (ids{77, 77}));
  EXPECT_EQ(reported(index, "user.77.outbox"), (ids{77}));
  const std::size_t full = index.memory_bytes();
  EXPECT_GT(full, base + 10'000 * 8);
  for (uint32_t t = 0; t < 5000; ++t) {
    ASSERT_TRUE(index.remove("user." + std::to_string(t) + ".inbox", t));
    ASSERT_TRUE(index.remove("user." + std::to_string(t) + ".>", t));
  }
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.exact_tags(), 0u);
  EXPECT_EQ(index.trie_nodes(), 1u);
  // Hash tables shrink; entry vectors keep their capacity for reuse.
  EXPECT_LT(index.memory_bytes(), full);
}

// Random adds and removes over a small universe, checked after every step against a naive
// model that asks pattern_matches of every subscription. Few patterns and up to 40
// subscribers make lists cross the position-table threshold in both directions.
TEST(pubsub_index, randomised_against_naive_model) {
  const std::vector<std::string> patterns = {"a",   "b",     "a.b",   "a.c",   "b.a",  "a.b.c",
                                             "*",   ">",     "a.*",   "*.b",   "a.>",  "*.*",
                                             "*.>", "a.*.c", "*.b.>", "a.b.>", "*.*.*"};
  const std::vector<std::string> tags = {"a",   "b",   "c",     "a.b",   "a.c",   "b.a",
                                         "b.b", "c.b", "a.b.c", "a.c.c", "b.b.b", "a.b.c.d"};
  subscription_index index;
  std::set<std::pair<std::string, uint32_t>> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20'000; ++step) {
    const std::string& p = patterns[rng() % patterns.size()];
    const uint32_t s = rng() % 40;
    const bool present = model.count({p, s}) != 0;
    if (rng() % 100 < 55) {
      ASSERT_EQ(index.add(p, s), !present) << p << " " << s;
      model.insert({p, s});
    } else {
      ASSERT_EQ(index.remove(p, s), present) << p << " " << s;
      model.erase({p, s});
    }
    if (step % 97 != 0) {
      continue;
    }
    ASSERT_EQ(index.size(), model.size());
    for (const std::string& t : tags) {
      std::vector<uint32_t> expected;
      for (const auto& [mp, ms] : model) {
        if (pattern_matches(mp, t)) {
          expected.push_back(ms);
        }
      }
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(reported(index, t), expected) << "tag " << t << " step " << step;
      ASSERT_EQ(index.has_subscribers(t), !expected.empty()) << t;
    }
  }
  for (const auto& [p, s] : model) {
    ASSERT_TRUE(index.remove(p, s));
  }
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.trie_nodes(), 1u);
  EXPECT_EQ(index.exact_tags(), 0u);
}

TEST(pubsub_index, for_each_accepts_const_and_mutable_callables) {
  subscription_index index;
  index.add("t", 1);
  index.add("*", 2);
  std::size_t count = 0;
  const auto counter = [&count](uint32_t) { ++count; };
  index.for_each_subscriber("t", counter);
  struct stateful {
    uint32_t sum = 0;
    void operator()(uint32_t s) { sum += s; }
  } sum;
  index.for_each_subscriber("t", sum);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(sum.sum, 3u);
}

}  // namespace
}  // namespace wsa
