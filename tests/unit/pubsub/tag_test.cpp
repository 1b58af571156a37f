// Tests of tag/pattern validation, matching, coverage (cross-checked by brute force over a
// small universe) and the MQTT topic mapping.
#include "pubsub/tag.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace wsa {
namespace {

using namespace std::string_literals;

TEST(pubsub_tag, valid_tags) {
  EXPECT_TRUE(is_valid_tag("a"));
  EXPECT_TRUE(is_valid_tag("chat.room-1.user_42"));
  EXPECT_TRUE(is_valid_tag("!.~"));  // both ends of the printable range
  EXPECT_TRUE(is_valid_tag("a/b:c@d#e+f$g"));
  EXPECT_TRUE(is_valid_tag(std::string(255, 'x')));
  std::string dotted;
  while (dotted.size() < 254) {
    dotted += "a.";
  }
  dotted += "b";  // 128 one-byte segments
  ASSERT_EQ(dotted.size(), 255u);
  EXPECT_TRUE(is_valid_tag(dotted));
  EXPECT_FALSE(is_valid_tag(dotted + "c"));
  EXPECT_FALSE(is_valid_tag(dotted + ".c"));
}

TEST(pubsub_tag, invalid_tags) {
  EXPECT_FALSE(is_valid_tag(""));
  EXPECT_FALSE(is_valid_tag(std::string(256, 'x')));
  EXPECT_FALSE(is_valid_tag("."));
  EXPECT_FALSE(is_valid_tag(".a"));
  EXPECT_FALSE(is_valid_tag("a."));
  EXPECT_FALSE(is_valid_tag("a..b"));
  EXPECT_FALSE(is_valid_tag("a b"));
  EXPECT_FALSE(is_valid_tag("a\tb"));
  EXPECT_FALSE(is_valid_tag("a\nb"));
  EXPECT_FALSE(is_valid_tag("a\x7f"));
  EXPECT_FALSE(is_valid_tag("a\x1f"));
  EXPECT_FALSE(is_valid_tag("caf\xc3\xa9"));  // UTF-8 is not printable ASCII
  EXPECT_FALSE(is_valid_tag("a\0b"s));
  // Wildcards (or their characters) are never part of an exact tag.
  EXPECT_FALSE(is_valid_tag("*"));
  EXPECT_FALSE(is_valid_tag(">"));
  EXPECT_FALSE(is_valid_tag("a.*"));
  EXPECT_FALSE(is_valid_tag("a.>"));
  EXPECT_FALSE(is_valid_tag("a*b"));
  EXPECT_FALSE(is_valid_tag("a>b"));
}

TEST(pubsub_tag, valid_patterns) {
  for (const char* p :
       {"a", "a.b", "*", ">", "a.*", "*.b", "a.>", "*.>", "*.*", "a.*.c.>", "*.*.*", "!.~.>"}) {
    EXPECT_TRUE(is_valid_pattern(p)) << p;
  }
  EXPECT_TRUE(is_valid_pattern(std::string(253, 'x') + ".>"));
  EXPECT_TRUE(is_valid_pattern(std::string(255, 'x')));
}

TEST(pubsub_tag, invalid_patterns) {
  for (const char* p : {"", ".", ".*", "*.", "a..*", ">.a", "a.>.b", "a.>.>", ">.>", "a*", "*a",
                        "a.b*", "**", ">>", "a.>b", "a.b>", "*>", ">*", "a.*b.c"}) {
    EXPECT_FALSE(is_valid_pattern(p)) << p;
  }
  EXPECT_FALSE(is_valid_pattern(std::string(254, 'x') + ".>"));  // 256 bytes
  EXPECT_FALSE(is_valid_pattern("a. b"));
  EXPECT_FALSE(is_valid_pattern("a.\x7f"));
  EXPECT_FALSE(is_valid_pattern("*.\x01"));
}

TEST(pubsub_tag, is_wildcard) {
  EXPECT_TRUE(is_wildcard("*"));
  EXPECT_TRUE(is_wildcard(">"));
  EXPECT_TRUE(is_wildcard("a.*.c"));
  EXPECT_TRUE(is_wildcard("a.>"));
  EXPECT_FALSE(is_wildcard("a.b.c"));
  EXPECT_FALSE(is_wildcard("a"));
}

TEST(pubsub_tag, matches) {
  EXPECT_TRUE(pattern_matches("a.b", "a.b"));
  EXPECT_FALSE(pattern_matches("a.b", "a.bc"));
  EXPECT_FALSE(pattern_matches("a.b", "a.b.c"));
  EXPECT_FALSE(pattern_matches("a.b.c", "a.b"));
  EXPECT_TRUE(pattern_matches("a.*", "a.b"));
  EXPECT_FALSE(pattern_matches("a.*", "a"));
  EXPECT_FALSE(pattern_matches("a.*", "a.b.c"));
  EXPECT_TRUE(pattern_matches("*.b", "x.b"));
  EXPECT_FALSE(pattern_matches("*.b", "x.c"));
  EXPECT_TRUE(pattern_matches("a.>", "a.b"));
  EXPECT_TRUE(pattern_matches("a.>", "a.b.c.d"));
  EXPECT_FALSE(pattern_matches("a.>", "a"));
  EXPECT_FALSE(pattern_matches("a.>", "b.c"));
  EXPECT_TRUE(pattern_matches(">", "a"));
  EXPECT_TRUE(pattern_matches(">", "a.b.c"));
  EXPECT_TRUE(pattern_matches("*.*.>", "a.b.c"));
  EXPECT_FALSE(pattern_matches("*.*.>", "a.b"));
  EXPECT_TRUE(pattern_matches("a.*.c.>", "a.x.c.d.e"));
  EXPECT_FALSE(pattern_matches("a.*.c.>", "a.x.d.d"));
}

TEST(pubsub_tag, covers) {
  EXPECT_TRUE(pattern_covers("chat.>", "chat.*"));
  EXPECT_TRUE(pattern_covers("chat.>", "chat.a.b"));
  EXPECT_TRUE(pattern_covers("chat.>", "chat.>"));
  EXPECT_TRUE(pattern_covers("chat.>", "chat.*.>"));
  EXPECT_FALSE(pattern_covers("chat.>", "chat"));
  EXPECT_FALSE(pattern_covers("chat.*", "chat.>"));
  EXPECT_FALSE(pattern_covers("chat.*", "chat.a.b"));
  EXPECT_TRUE(pattern_covers("chat.*", "chat.a"));
  EXPECT_TRUE(pattern_covers("*.b", "a.b"));
  EXPECT_FALSE(pattern_covers("a.b", "*.b"));
  EXPECT_TRUE(pattern_covers(">", "a"));
  EXPECT_TRUE(pattern_covers(">", "*.*.>"));
  EXPECT_TRUE(pattern_covers(">", ">"));
  EXPECT_TRUE(pattern_covers("a.>", "a.*.c"));
  EXPECT_FALSE(pattern_covers("a.*.c", "a.>"));
  EXPECT_FALSE(pattern_covers("a.*.>", "a.>"));  // a.b is in the inner only
  EXPECT_TRUE(pattern_covers("a.>", "a.*.>"));
  EXPECT_FALSE(pattern_covers("*.>", ">"));
  EXPECT_TRUE(pattern_covers(">", "*.>"));
  EXPECT_FALSE(pattern_covers("a", "a.b"));
  EXPECT_FALSE(pattern_covers("a.b", "a"));
}

// ---- brute force ----------------------------------------------------------------------

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t dot; (dot = s.find('.', start)) != std::string_view::npos; start = dot + 1) {
    out.emplace_back(s.substr(start, dot - start));
  }
  out.emplace_back(s.substr(start));
  return out;
}

// A reference matcher written differently from the library's (recursive over vectors).
bool reference_match(const std::vector<std::string>& p, std::size_t i,
                     const std::vector<std::string>& t, std::size_t j) {
  if (i == p.size()) {
    return j == t.size();
  }
  if (p[i] == ">") {
    return j < t.size();
  }
  if (j == t.size()) {
    return false;
  }
  return (p[i] == "*" || p[i] == t[j]) && reference_match(p, i + 1, t, j + 1);
}

// Every string of 1..depth segments over `alphabet`, joined by '.'.
std::vector<std::string> all_strings(const std::vector<std::string>& alphabet, int depth) {
  std::vector<std::string> out;
  std::vector<std::string> level = {""};
  for (int d = 1; d <= depth; ++d) {
    std::vector<std::string> next;
    for (const std::string& prefix : level) {
      for (const std::string& segment : alphabet) {
        next.push_back(prefix.empty() ? segment : prefix + "." + segment);
      }
    }
    out.insert(out.end(), next.begin(), next.end());
    level = std::move(next);
  }
  return out;
}

struct universe {
  std::vector<std::string> patterns;  // valid patterns up to depth 3 over {a, b, *, >}
  std::vector<std::string> tags;      // tags up to depth 4 over {a, b, c}; c is in no pattern
};

const universe& small_universe() {
  static const universe u = [] {
    universe made;
    for (const std::string& p : all_strings({"a", "b", "*", ">"}, 3)) {
      if (is_valid_pattern(p)) {
        made.patterns.push_back(p);
      }
    }
    made.tags = all_strings({"a", "b", "c"}, 4);
    return made;
  }();
  return u;
}

TEST(pubsub_tag, brute_force_universe_is_as_expected) {
  const universe& u = small_universe();
  EXPECT_EQ(u.patterns.size(), 4u + 3 * 4 + 3 * 3 * 4);  // `>` only last
  EXPECT_EQ(u.tags.size(), 3u + 9 + 27 + 81);
  for (const std::string& t : u.tags) {
    EXPECT_TRUE(is_valid_tag(t)) << t;
  }
}

TEST(pubsub_tag, matches_agrees_with_reference) {
  const universe& u = small_universe();
  for (const std::string& p : u.patterns) {
    const std::vector<std::string> ps = split(p);
    for (const std::string& t : u.tags) {
      EXPECT_EQ(pattern_matches(p, t), reference_match(ps, 0, split(t), 0)) << p << " " << t;
    }
  }
}

// covers(outer, inner) must equal "every tag inner matches, outer matches". Tags one segment
// deeper than the patterns and a segment (c) that no pattern names make the universe large
// enough to hold a witness for every non-covering pair.
TEST(pubsub_tag, covers_agrees_with_brute_force) {
  const universe& u = small_universe();
  std::vector<std::vector<bool>> match(u.patterns.size(), std::vector<bool>(u.tags.size()));
  for (std::size_t i = 0; i < u.patterns.size(); ++i) {
    for (std::size_t j = 0; j < u.tags.size(); ++j) {
      match[i][j] = pattern_matches(u.patterns[i], u.tags[j]);
    }
  }
  int covering = 0;
  for (std::size_t o = 0; o < u.patterns.size(); ++o) {
    for (std::size_t i = 0; i < u.patterns.size(); ++i) {
      bool expected = true;
      for (std::size_t j = 0; j < u.tags.size() && expected; ++j) {
        expected = !match[i][j] || match[o][j];
      }
      covering += expected ? 1 : 0;
      EXPECT_EQ(pattern_covers(u.patterns[o], u.patterns[i]), expected)
          << u.patterns[o] << " covers " << u.patterns[i];
      // Distinct patterns match distinct sets: mutual coverage means the same pattern.
      if (o != i) {
        EXPECT_FALSE(pattern_covers(u.patterns[o], u.patterns[i]) &&
                     pattern_covers(u.patterns[i], u.patterns[o]));
      }
    }
  }
  EXPECT_GT(covering, static_cast<int>(u.patterns.size()));  // not just the diagonal
}

// Exact tags are patterns too: covers(p, tag) is matches(p, tag).
TEST(pubsub_tag, covers_of_exact_tag_is_match) {
  const universe& u = small_universe();
  for (const std::string& p : u.patterns) {
    for (const std::string& t : u.tags) {
      EXPECT_EQ(pattern_covers(p, t), pattern_matches(p, t)) << p << " " << t;
    }
  }
}

// ---- MQTT ------------------------------------------------------------------------------

std::string to_tag(std::string_view topic, bool wildcards) {
  std::string out = "unchanged";
  return mqtt_topic_to_tag(topic, wildcards, out) ? out : "refused:" + out;
}

std::string to_topic(std::string_view tag) {
  std::string out = "unchanged";
  return tag_to_mqtt_topic(tag, out) ? out : "refused:" + out;
}

TEST(pubsub_tag, mqtt_topic_to_tag) {
  EXPECT_EQ(to_tag("a", false), "a");
  EXPECT_EQ(to_tag("sensors/room-1/temp", false), "sensors.room-1.temp");
  EXPECT_EQ(to_tag("+/b/#", true), "*.b.>");
  EXPECT_EQ(to_tag("#", true), ">");
  EXPECT_EQ(to_tag("+", true), "*");
  EXPECT_EQ(to_tag("a/+/+", true), "a.*.*");
  EXPECT_EQ(to_tag(std::string(255, 'x'), false), std::string(255, 'x'));
}

TEST(pubsub_tag, mqtt_topic_refused) {
  for (const char* topic :
       {"",   "/",   "/a",   "a/",   "a//b", "$SYS/broker", "$",  "a b", "a.b",         "a/*",
        "a*", "a/>", "a+/b", "a/b#", "#/a",  "a/#/b",       "++", "##",  "caf\xc3\xa9", "a\x7f"}) {
    EXPECT_EQ(to_tag(topic, true), "refused:unchanged") << topic;
  }
  EXPECT_EQ(to_tag("a/+", false), "refused:unchanged");
  EXPECT_EQ(to_tag("#", false), "refused:unchanged");
  EXPECT_EQ(to_tag(std::string(256, 'x'), false), "refused:unchanged");
}

TEST(pubsub_tag, tag_to_mqtt_topic) {
  EXPECT_EQ(to_topic("a.b.c"), "a/b/c");
  EXPECT_EQ(to_topic("*.b.>"), "+/b/#");
  EXPECT_EQ(to_topic(">"), "#");
  for (const char* tag : {"a/b", "a+b", "a.#", "$SYS.x", "", "a..b", "a.>.b", "a b"}) {
    EXPECT_EQ(to_topic(tag), "refused:unchanged") << tag;
  }
}

TEST(pubsub_tag, mqtt_round_trip) {
  const universe& u = small_universe();
  for (const std::string& p : u.patterns) {
    std::string topic;
    std::string back;
    ASSERT_TRUE(tag_to_mqtt_topic(p, topic)) << p;
    ASSERT_TRUE(mqtt_topic_to_tag(topic, true, back)) << topic;
    EXPECT_EQ(back, p);
    EXPECT_EQ(mqtt_topic_to_tag(topic, false, back), !is_wildcard(p)) << topic;
  }
}

}  // namespace
}  // namespace wsa
