// Topic names and filters <-> tags and patterns: the mapping table, the refusals, and, by
// brute force over a small universe, that a filter's patterns match exactly the tags whose
// topics MQTT's own matching rules would deliver.
#include "mqtt/topic.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pubsub/tag.h"

namespace wsa::mqtt {
namespace {

std::string tag_of(std::string_view topic) {
  std::string tag;
  return topic_to_tag(topic, tag) ? tag : "refused";
}

std::string patterns_of(std::string_view filter) {
  filter_patterns p;
  if (!filter_to_patterns(filter, p)) {
    return "refused";
  }
  return p.second.empty() ? p.first : p.first + " " + p.second;
}

std::string topic_of(std::string_view tag) {
  std::string topic;
  return tag_to_topic(tag, topic) ? topic : "refused";
}

TEST(mqtt_topic, names) {
  EXPECT_EQ(tag_of("a"), "a");
  EXPECT_EQ(tag_of("a/b"), "a.b");
  EXPECT_EQ(tag_of("sensors/room-1/temp_c"), "sensors.room-1.temp_c");
  EXPECT_EQ(tag_of("a:b@c"), "a:b@c");
  EXPECT_EQ(tag_of(std::string(255, 'x')), std::string(255, 'x'));
  for (const char* refused :
       {"", "$SYS/broker", "$share/g/a", "/a", "a/", "a//b", "a b", "a.b", "a*", "a>", "+", "#",
        "a/+", "a/#", "caf\xc3\xa9", "tab\there", "\x7f"}) {
    EXPECT_EQ(tag_of(refused), "refused") << refused;
  }
  EXPECT_EQ(tag_of(std::string(256, 'x')), "refused");
}

TEST(mqtt_topic, filters) {
  EXPECT_EQ(patterns_of("a/b"), "a.b");
  EXPECT_EQ(patterns_of("a/+"), "a.*");
  EXPECT_EQ(patterns_of("+/b/+"), "*.b.*");
  EXPECT_EQ(patterns_of("a/#"), "a a.>");
  EXPECT_EQ(patterns_of("a/+/#"), "a.* a.*.>");
  EXPECT_EQ(patterns_of("+/#"), "* *.>");
  EXPECT_EQ(patterns_of("#"), ">");
  EXPECT_EQ(patterns_of("+"), "*");
  for (const char* refused : {"", "a/#/b", "a#", "a/b#", "a+", "+a/b", "#/a", "$SYS/#",
                              "$share/g/a/#", "a//b", "/#", "a/", "a.b/#", "a*/b", "a b/#"}) {
    EXPECT_EQ(patterns_of(refused), "refused") << refused;
  }
}

TEST(mqtt_topic, tags_to_topics) {
  EXPECT_EQ(topic_of("a"), "a");
  EXPECT_EQ(topic_of("a.b.c"), "a/b/c");
  // Tags that have no MQTT topic (MQTT subscribers do not get their messages).
  for (const char* refused : {"a/b", "a.b/c", "a+b", "a#", "$sys.x", "a.*", "a.>", "", "a..b"}) {
    EXPECT_EQ(topic_of(refused), "refused") << refused;
  }
}

TEST(mqtt_topic, round_trip) {
  for (const char* topic : {"a", "a/b", "x/y/z", "sensors/room-1/temp", "a:b/c@d/e$f"}) {
    std::string tag;
    std::string back;
    ASSERT_TRUE(topic_to_tag(topic, tag)) << topic;
    ASSERT_TRUE(tag_to_topic(tag, back)) << tag;
    EXPECT_EQ(back, topic);
  }
}

// MQTT's matching (MQTT 5.0 section 4.7), written independently of the mapping.
bool mqtt_matches(std::string_view filter, std::string_view topic) {
  auto split = [](std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == '/') {
        out.push_back(s.substr(start, i - start));
        start = i + 1;
      }
    }
    return out;
  };
  const auto f = split(filter);
  const auto t = split(topic);
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "#") {
      return true;  // this level and below, including the parent (t.size() == i)
    }
    if (i >= t.size() || (f[i] != "+" && f[i] != t[i])) {
      return false;
    }
  }
  return f.size() == t.size();
}

void all_strings(const std::vector<std::string>& levels, std::size_t depth, std::string prefix,
                 std::vector<std::string>& out) {
  if (depth == 0) {
    return;
  }
  for (const std::string& l : levels) {
    const std::string s = prefix.empty() ? l : prefix + "/" + l;
    out.push_back(s);
    all_strings(levels, depth - 1, s, out);
  }
}

TEST(mqtt_topic, filter_patterns_match_what_mqtt_matches) {
  std::vector<std::string> topics;
  all_strings({"a", "b", "c"}, 4, "", topics);
  std::vector<std::string> filters;
  all_strings({"a", "b", "+", "#"}, 4, "", filters);
  std::size_t checked = 0;
  for (const std::string& filter : filters) {
    filter_patterns p;
    if (!filter_to_patterns(filter, p)) {
      EXPECT_NE(filter.find('#'), filter.size() - 1) << filter << " refused but valid";
      continue;
    }
    for (const std::string& topic : topics) {
      std::string tag;
      ASSERT_TRUE(topic_to_tag(topic, tag));
      const bool ours =
          pattern_matches(p.first, tag) || (!p.second.empty() && pattern_matches(p.second, tag));
      EXPECT_EQ(ours, mqtt_matches(filter, topic)) << filter << " vs " << topic;
      ++checked;
    }
  }
  EXPECT_GT(checked, 10000u);
}

}  // namespace
}  // namespace wsa::mqtt
