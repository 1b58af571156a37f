// The retained messages' replica (broker/retained_store.h): newest by (ts, seq) whatever the
// order updates arrive in, cleared by empty data, bounded, looked up by tag or pattern.
#include "broker/retained_store.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace wsa {
namespace {

using put_result = retained_store::put_result;

std::set<std::string> matches(const retained_store& s, std::string_view pattern) {
  std::set<std::string> out;
  s.for_each_match(pattern, [&](const retained_store::entry& e) {
    out.insert(std::string(e.m->tag()) + "=" + std::string(e.m->data()));
    return true;
  });
  return out;
}

TEST(retained_store, newest_wins_whatever_the_order_of_arrival) {
  retained_store s({10, 1 << 20});
  EXPECT_EQ(s.put("a.b", 2, 100, "\"two\"", 1, true), put_result::stored);
  EXPECT_EQ(s.put("a.b", 1, 100, "\"one\"", 1, false), put_result::stale);  // arrived late
  EXPECT_EQ(s.put("a.b", 1, 99, "\"older\"", 1, false), put_result::stale);
  EXPECT_EQ(s.find("a.b")->m->data(), "\"two\"");
  EXPECT_EQ(s.put("a.b", 3, 101, "\"three\"", 0, false), put_result::stored);
  EXPECT_EQ(s.find("a.b")->m->data(), "\"three\"");
  EXPECT_EQ(s.find("a.b")->qos, 0);
  EXPECT_EQ(s.size(), 1u);
}

TEST(retained_store, empty_data_clears_and_frees_its_bytes) {
  retained_store s({10, 1 << 20});
  s.put("a", 1, 1, "1", 1, true);
  const uint64_t one = s.bytes();
  s.put("b", 1, 1, "22", 1, true);
  EXPECT_GT(s.bytes(), one);
  EXPECT_EQ(s.put("b", 2, 2, "", 1, true), put_result::cleared);
  EXPECT_EQ(s.find("b"), nullptr);
  EXPECT_EQ(s.bytes(), one);
  EXPECT_EQ(s.put("never", 1, 1, "", 1, true), put_result::cleared);  // nothing to clear
  EXPECT_EQ(s.size(), 1u);
}

TEST(retained_store, bounded_by_count_and_bytes_the_origin_deciding) {
  retained_store s({2, 1 << 20});
  EXPECT_EQ(s.put("t1", 1, 1, "x", 1, true), put_result::stored);
  EXPECT_EQ(s.put("t2", 1, 1, "x", 1, true), put_result::stored);
  EXPECT_EQ(s.put("t3", 1, 1, "x", 1, true), put_result::full);  // a new tag past the bound
  EXPECT_EQ(s.put("t1", 2, 2, "y", 1, true), put_result::stored);  // a kept tag is replaced
  // Another shard's accepted update is taken up to twice the bound (replicas near the bound
  // may have seen updates in another order), never past it.
  EXPECT_EQ(s.put("t3", 1, 1, "x", 1, false), put_result::stored);
  EXPECT_EQ(s.put("t4", 1, 1, "x", 1, false), put_result::stored);
  EXPECT_EQ(s.put("t5", 1, 1, "x", 1, false), put_result::full);
  EXPECT_EQ(s.size(), 4u);

  retained_store small({100, 400});
  EXPECT_EQ(small.put("big", 1, 1, std::string(300, 'x'), 1, true), put_result::full);
  EXPECT_EQ(small.size(), 0u);
  EXPECT_EQ(small.bytes(), 0u);
}

TEST(retained_store, charges_the_tree_nodes_a_deep_topic_allocates) {
  retained_store s({100, 1 << 20});
  s.put("a", 1, 1, "1", 1, true);
  const uint64_t one_level = s.bytes();
  s.put("a", 2, 2, "", 1, true);
  EXPECT_EQ(s.bytes(), 0u);
  // Eight levels: eight nodes, more than seven times a one-level topic's tree cost.
  s.put("a.b.c.d.e.f.g.h", 1, 1, "1", 1, true);
  const uint64_t deep = s.bytes();
  EXPECT_GT(deep, one_level + 7 * (sizeof(void*) * 4));
  // A sibling shares the seven levels above it: it costs one node and its message.
  s.put("a.b.c.d.e.f.g.i", 1, 1, "1", 1, true);
  EXPECT_LT(s.bytes() - deep, one_level + 16);
  EXPECT_GE(s.bytes() - deep, one_level);
  // Clearing both frees every node.
  s.put("a.b.c.d.e.f.g.h", 2, 2, "", 1, true);
  s.put("a.b.c.d.e.f.g.i", 2, 2, "", 1, true);
  EXPECT_EQ(s.bytes(), 0u);
  // The bound counts the nodes: a budget a one-level topic fits in refuses a deep one.
  retained_store tight({100, one_level + 8});
  EXPECT_EQ(tight.put("x.y.z.w", 1, 1, "1", 1, true), put_result::full);
  EXPECT_EQ(tight.put("x", 1, 1, "1", 1, true), put_result::stored);
  EXPECT_EQ(tight.bytes(), one_level);
}

TEST(retained_store, the_publishers_metadata_is_kept_and_charged) {
  retained_store s({10, 1 << 20});
  s.put("m", 1, 1, "1", 1, true);
  const uint64_t plain = s.bytes();
  s.put("m", 2, 2, "1", 1, true, "meta");
  EXPECT_EQ(s.find("m")->m->meta(), "meta");
  EXPECT_EQ(s.bytes(), plain + 4);
}

TEST(retained_store, lookup_by_tag_or_pattern) {
  retained_store s({10, 1 << 20});
  s.put("s.1.temp", 1, 1, "21", 1, true);
  s.put("s.2.temp", 1, 1, "22", 1, true);
  s.put("s.2.hum", 1, 1, "40", 1, true);
  s.put("s", 1, 1, "0", 1, true);
  EXPECT_EQ(matches(s, "s.*.temp"), (std::set<std::string>{"s.1.temp=21", "s.2.temp=22"}));
  EXPECT_EQ(matches(s, "s.>"),
            (std::set<std::string>{"s.1.temp=21", "s.2.temp=22", "s.2.hum=40"}));
  EXPECT_EQ(matches(s, "s"), (std::set<std::string>{"s=0"}));
  EXPECT_EQ(matches(s, "s.3.temp"), (std::set<std::string>{}));
  EXPECT_EQ(matches(s, "*"), (std::set<std::string>{"s=0"}));
  EXPECT_EQ(matches(s, "*.*"), (std::set<std::string>{}));
  EXPECT_EQ(matches(s, "*.2.>"), (std::set<std::string>{"s.2.temp=22", "s.2.hum=40"}));
  EXPECT_EQ(matches(s, "s.1"), (std::set<std::string>{}));  // a branch, not a retained tag
}

TEST(retained_store, clearing_a_tag_keeps_the_tags_above_and_below_it) {
  retained_store s({10, 1 << 20});
  s.put("a", 1, 1, "1", 1, true);
  s.put("a.b", 1, 1, "2", 1, true);
  s.put("a.b.c", 1, 1, "3", 1, true);
  EXPECT_EQ(s.put("a.b", 2, 2, "", 1, true), put_result::cleared);
  EXPECT_EQ(matches(s, ">"), (std::set<std::string>{"a=1", "a.b.c=3"}));
  EXPECT_EQ(s.put("a.b.c", 2, 2, "", 1, true), put_result::cleared);
  EXPECT_EQ(matches(s, ">"), (std::set<std::string>{"a=1"}));
  EXPECT_EQ(s.find("a.b.c"), nullptr);
  EXPECT_EQ(s.put("a.b.c", 3, 3, "4", 1, true), put_result::stored);  // the branch again
  EXPECT_EQ(matches(s, "a.*.*"), (std::set<std::string>{"a.b.c=4"}));
  EXPECT_EQ(s.size(), 2u);
}

TEST(retained_store, a_visitor_stops_the_walk) {
  retained_store s({100, 1 << 20});
  for (int i = 0; i < 50; ++i) {
    s.put("r." + std::to_string(i), 1, 1, "1", 1, true);
  }
  int seen = 0;
  EXPECT_FALSE(s.for_each_match("r.*", [&](const retained_store::entry&) { return ++seen < 7; }));
  EXPECT_EQ(seen, 7);
  seen = 0;
  EXPECT_FALSE(s.for_each_match(">", [&](const retained_store::entry&) { return ++seen < 3; }));
  EXPECT_EQ(seen, 3);
  EXPECT_TRUE(s.for_each_match("r.*.x", [&](const retained_store::entry&) { return false; }));
}

TEST(retained_store, the_nodes_looked_at_are_bounded) {
  retained_store s({1000, 1 << 20});
  for (int i = 0; i < 100; ++i) {
    s.put(std::to_string(i) + ".r", 1, 1, "1", 1, true);
  }
  // `*.x` looks at each of the 100 first-level nodes (and finds no `x` under them).
  std::size_t visits = 1000;
  EXPECT_TRUE(s.for_each_match("*.x", visits, [](const retained_store::entry&) { return true; }));
  EXPECT_EQ(visits, 900u);
  visits = 50;
  EXPECT_FALSE(s.for_each_match("*.x", visits, [](const retained_store::entry&) { return true; }));
  EXPECT_EQ(visits, 0u);
  // An exact tag: one node per level.
  visits = 10;
  int seen = 0;
  EXPECT_TRUE(s.for_each_match("7.r", visits, [&](const retained_store::entry&) {
    ++seen;
    return true;
  }));
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(visits, 8u);
}

}  // namespace
}  // namespace wsa
