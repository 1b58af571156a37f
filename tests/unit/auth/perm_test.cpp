// Permission containment: `pub` needs a perm.pub pattern matching the exact tag; `sub` needs
// one perm.sub pattern covering every tag the requested pattern could match. The compiled
// form (sorted exact tags, scanned wildcards, folded `>`) must agree with the plain
// definitions in pubsub/tag.h, which tag_test checks against brute force.
#include "auth/perm.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "pubsub/tag.h"

namespace wsa {
namespace {

permissions make(std::vector<std::string_view> pub, std::vector<std::string_view> sub) {
  permissions p;
  EXPECT_TRUE(p.compile(pub, sub));
  return p;
}

TEST(auth_perm, default_allows_nothing) {
  const permissions p;
  EXPECT_FALSE(p.may_publish("a"));
  EXPECT_FALSE(p.may_subscribe("a"));
  EXPECT_FALSE(p.may_subscribe(">"));
  EXPECT_EQ(p.pub_count(), 0u);
  EXPECT_EQ(p.sub_count(), 0u);
  const permissions empty = make({}, {});
  EXPECT_FALSE(empty.may_publish("a"));
  EXPECT_FALSE(empty.may_subscribe("a"));
}

TEST(auth_perm, allow_all_allows_everything) {
  const permissions p = permissions::allow_all();
  for (std::string_view t : {"a", "chat.room1", "x.y.z.w", "$sys"}) {
    EXPECT_TRUE(p.may_publish(t)) << t;
    EXPECT_TRUE(p.may_subscribe(t)) << t;
  }
  for (std::string_view pat : {">", "*", "*.>", "a.*.c", "chat.>"}) {
    EXPECT_TRUE(p.may_subscribe(pat)) << pat;
  }
}

TEST(auth_perm, publish_exact_tags) {
  const permissions p = make({"chat.room1", "news", "a.b.c"}, {});
  EXPECT_TRUE(p.may_publish("chat.room1"));
  EXPECT_TRUE(p.may_publish("news"));
  EXPECT_TRUE(p.may_publish("a.b.c"));
  for (std::string_view t : {"chat.room2", "chat", "chat.room1.x", "chat.room", "chat.room10",
                             "news.x", "new", "a.b", "a.b.c.d", "b.c"}) {
    EXPECT_FALSE(p.may_publish(t)) << t;
  }
  // Publishing rights do not grant subscriptions.
  EXPECT_FALSE(p.may_subscribe("news"));
}

TEST(auth_perm, publish_wildcards) {
  const permissions star = make({"chat.*"}, {});
  EXPECT_TRUE(star.may_publish("chat.room1"));
  EXPECT_TRUE(star.may_publish("chat.x"));
  EXPECT_FALSE(star.may_publish("chat"));
  EXPECT_FALSE(star.may_publish("chat.a.b"));
  EXPECT_FALSE(star.may_publish("chatter.a"));

  const permissions tail = make({"chat.>"}, {});
  EXPECT_TRUE(tail.may_publish("chat.a"));
  EXPECT_TRUE(tail.may_publish("chat.a.b.c"));
  EXPECT_FALSE(tail.may_publish("chat"));  // `>` needs at least one more segment
  EXPECT_FALSE(tail.may_publish("news.a"));

  const permissions middle = make({"*.news", "a.*.c"}, {});
  EXPECT_TRUE(middle.may_publish("x.news"));
  EXPECT_FALSE(middle.may_publish("news"));
  EXPECT_FALSE(middle.may_publish("x.y.news"));
  EXPECT_TRUE(middle.may_publish("a.b.c"));
  EXPECT_FALSE(middle.may_publish("a.b.d"));

  const permissions all = make({">"}, {});
  EXPECT_TRUE(all.may_publish("a"));
  EXPECT_TRUE(all.may_publish("a.b.c.d.e"));
  EXPECT_FALSE(all.may_subscribe("a"));
}

TEST(auth_perm, subscribe_exact_holder_gets_only_that_tag) {
  const permissions p = make({}, {"chat.room1"});
  EXPECT_TRUE(p.may_subscribe("chat.room1"));
  for (std::string_view pat : {"chat.>", "chat.*", "chat.room2", "*.room1", ">", "chat.room1.>",
                               "chat", "*"}) {
    EXPECT_FALSE(p.may_subscribe(pat)) << pat;
  }
}

TEST(auth_perm, subscribe_tail_wildcard_covers_its_subtree) {
  const permissions p = make({}, {"chat.>"});
  for (std::string_view pat : {"chat.>", "chat.*", "chat.a", "chat.a.b", "chat.*.b", "chat.*.>",
                               "chat.a.>"}) {
    EXPECT_TRUE(p.may_subscribe(pat)) << pat;
  }
  for (std::string_view pat : {"chat", ">", "*.>", "*", "news.>", "*.a", "chats.>"}) {
    EXPECT_FALSE(p.may_subscribe(pat)) << pat;
  }
}

TEST(auth_perm, subscribe_single_wildcard_is_one_level) {
  const permissions p = make({}, {"chat.*"});
  EXPECT_TRUE(p.may_subscribe("chat.*"));
  EXPECT_TRUE(p.may_subscribe("chat.x"));
  EXPECT_FALSE(p.may_subscribe("chat.>"));
  EXPECT_FALSE(p.may_subscribe("chat.x.y"));
  EXPECT_FALSE(p.may_subscribe("chat"));
  EXPECT_FALSE(p.may_subscribe("*.*"));
}

TEST(auth_perm, subscribe_everything) {
  const permissions p = make({}, {">"});
  for (std::string_view pat : {">", "*", "*.>", "a", "a.b.c", "a.*.c.>"}) {
    EXPECT_TRUE(p.may_subscribe(pat)) << pat;
  }
  EXPECT_FALSE(p.may_publish("a"));  // the lists are independent

  // `*.>` is not everything: it misses every one-segment tag.
  const permissions two = make({}, {"*.>"});
  EXPECT_FALSE(two.may_subscribe(">"));
  EXPECT_FALSE(two.may_subscribe("*"));
  EXPECT_FALSE(two.may_subscribe("a"));
  EXPECT_TRUE(two.may_subscribe("a.>"));
  EXPECT_TRUE(two.may_subscribe("*.*"));
}

TEST(auth_perm, one_pattern_must_cover_the_request_alone) {
  // `a.*` and `a.*.>` together match every tag `a.>` does; the request is still refused
  // (perm.h explains why), while each part is allowed.
  const permissions p = make({}, {"a.*", "a.*.>"});
  EXPECT_FALSE(p.may_subscribe("a.>"));
  EXPECT_TRUE(p.may_subscribe("a.*"));
  EXPECT_TRUE(p.may_subscribe("a.*.>"));
  EXPECT_TRUE(p.may_subscribe("a.b.c"));
}

TEST(auth_perm, invalid_patterns_are_refused_and_leave_the_old_lists) {
  permissions p = make({"chat.*"}, {"chat.>"});
  const std::string too_long(max_tag_bytes + 1, 'a');
  const std::vector<std::string_view> bad = {"",    "a..b", ".a",  "a.",  "a.>.b", "a*",
                                             "*a",  "a>",   "a b", "a\tb", "\xc3\xa9",
                                             too_long};
  for (std::string_view b : bad) {
    const std::vector<std::string_view> one = {b};
    const std::vector<std::string_view> fine = {"x"};
    EXPECT_FALSE(p.compile(one, fine)) << "pub " << b;
    EXPECT_FALSE(p.compile(fine, one)) << "sub " << b;
    // One bad entry among good ones spoils the whole compile.
    const std::vector<std::string_view> mixed = {"x", b, "y"};
    EXPECT_FALSE(p.compile(mixed, fine)) << "mixed " << b;
    EXPECT_TRUE(p.may_publish("chat.x"));
    EXPECT_TRUE(p.may_subscribe("chat.>"));
    EXPECT_FALSE(p.may_publish("x"));
  }
  const std::string longest(max_tag_bytes, 'a');
  const std::vector<std::string_view> edge = {longest};
  EXPECT_TRUE(p.compile(edge, edge));
  EXPECT_TRUE(p.may_publish(longest));
  EXPECT_FALSE(p.may_publish("chat.x"));  // replaced, not merged
}

TEST(auth_perm, repeats_count_and_are_harmless) {
  const permissions p = make({"a", "a", "b.*", "b.*"}, {">", "x", ">"});
  EXPECT_EQ(p.pub_count(), 4u);
  EXPECT_EQ(p.sub_count(), 3u);
  EXPECT_TRUE(p.may_publish("a"));
  EXPECT_TRUE(p.may_publish("b.c"));
  EXPECT_FALSE(p.may_publish("b"));
  EXPECT_TRUE(p.may_subscribe("anything.>"));
}

TEST(auth_perm, survives_copy_and_move_and_the_source_lists_dying) {
  permissions moved;
  {
    std::vector<std::string> pub = {"chat.*", "news"};
    std::vector<std::string> sub = {"chat.>"};
    std::vector<std::string_view> pv(pub.begin(), pub.end());
    std::vector<std::string_view> sv(sub.begin(), sub.end());
    permissions p;
    ASSERT_TRUE(p.compile(pv, sv));
    pub.assign(2, std::string(40, 'z'));  // the token's text is gone after compiling
    sub.assign(1, std::string(40, 'z'));
    const permissions copy = p;
    moved = std::move(p);
    EXPECT_TRUE(copy.may_publish("news"));
    EXPECT_TRUE(copy.may_subscribe("chat.a.b"));
  }
  EXPECT_TRUE(moved.may_publish("chat.x"));
  EXPECT_TRUE(moved.may_publish("news"));
  EXPECT_FALSE(moved.may_publish("news.x"));
  EXPECT_TRUE(moved.may_subscribe("chat.*"));
}

TEST(auth_perm, many_exact_tags_are_all_found) {
  std::vector<std::string> tags;
  for (int i = 0; i < 300; ++i) {
    tags.push_back("t." + std::to_string((i * 7919) % 1000));  // unsorted on purpose
  }
  const std::vector<std::string_view> views(tags.begin(), tags.end());
  permissions p;
  ASSERT_TRUE(p.compile(views, views));
  for (int i = 0; i < 1000; ++i) {
    const std::string t = "t." + std::to_string(i);
    bool listed = false;
    for (const std::string& s : tags) {
      listed = listed || s == t;
    }
    EXPECT_EQ(p.may_publish(t), listed) << t;
    EXPECT_EQ(p.may_subscribe(t), listed) << t;
  }
  EXPECT_FALSE(p.may_subscribe("t.*"));
  EXPECT_FALSE(p.may_publish("t"));
}

// A mixed list like a real token's: the compiled checks must equal "some pattern matches"
// (pub) and "some pattern covers" (sub) for every tag and pattern of a small universe.
TEST(auth_perm, agrees_with_the_tag_rules_on_a_universe) {
  const std::vector<std::string_view> list = {
      "a.b",   "a.c.d", "b",     "c.*",   "d.>",   "*.e",   "f.*.g", "h.>",   "a.*.e.>", "e.e",
      "g.h.i", "*.*.h", "i.*",   "b.a",   "c.c.c", "j",     "k.*.>", "a.h",   "*.g.>",   "c.d"};
  permissions p;
  ASSERT_TRUE(p.compile(list, list));
  const std::vector<std::string> segments = {"a", "b", "c", "d", "e", "g", "h", "x", "*", ">"};
  std::vector<std::string> universe;
  std::vector<std::string> prefixes = {""};
  for (int depth = 1; depth <= 3; ++depth) {
    std::vector<std::string> next;
    for (const std::string& pre : prefixes) {
      for (const std::string& s : segments) {
        const std::string t = pre.empty() ? s : pre + "." + s;
        if (!is_valid_pattern(t)) {
          continue;  // `>` not last
        }
        universe.push_back(t);
        if (s != ">") {
          next.push_back(t);
        }
      }
    }
    prefixes = std::move(next);
  }
  ASSERT_GT(universe.size(), 800u);
  int allowed_pub = 0;
  int allowed_sub = 0;
  for (const std::string& req : universe) {
    bool sub_expected = false;
    for (std::string_view pat : list) {
      sub_expected = sub_expected || pattern_covers(pat, req);
    }
    EXPECT_EQ(p.may_subscribe(req), sub_expected) << "sub " << req;
    allowed_sub += sub_expected ? 1 : 0;
    if (is_valid_tag(req)) {
      bool pub_expected = false;
      for (std::string_view pat : list) {
        pub_expected = pub_expected || pattern_matches(pat, req);
      }
      EXPECT_EQ(p.may_publish(req), pub_expected) << "pub " << req;
      allowed_pub += pub_expected ? 1 : 0;
    }
  }
  // The universe exercises both answers.
  EXPECT_GT(allowed_pub, 20);
  EXPECT_GT(allowed_sub, 20);
}

}  // namespace
}  // namespace wsa
