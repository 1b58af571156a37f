// A request's tags as a set: repeats marked (first or last one counting), lookups.
#include "pubsub/tag_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsa {
namespace {

TEST(tag_set, marks_repeats_after_the_first) {
  const std::vector<std::string_view> tags{"a", "b", "a", "c", "b", "a"};
  const tag_set set(tags);
  EXPECT_EQ(set.size(), 3u);
  const std::vector<bool> expected{false, false, true, false, true, true};
  for (std::size_t i = 0; i < tags.size(); ++i) {
    EXPECT_EQ(set.repeated(i), expected[i]) << i;
  }
  EXPECT_EQ(set.find("a"), 0u);
  EXPECT_EQ(set.find("b"), 1u);
  EXPECT_EQ(set.find("c"), 3u);
  EXPECT_FALSE(set.contains("d"));
  EXPECT_FALSE(set.contains(""));
}

TEST(tag_set, last_wins_keeps_the_last_of_equal_entries) {
  const std::vector<std::string_view> tags{"x", "y", "x"};
  const tag_set set = tag_set::last_wins(tags);
  EXPECT_EQ(set.find("x"), 2u);
  EXPECT_TRUE(set.repeated(0));
  EXPECT_FALSE(set.repeated(2));
}

TEST(tag_set, many_distinct_and_repeated_tags) {
  std::vector<std::string> storage;
  for (int i = 0; i < 70000; ++i) {
    storage.push_back("tag." + std::to_string(i % 50000));
  }
  const std::vector<std::string_view> tags(storage.begin(), storage.end());
  const tag_set set(tags);
  EXPECT_EQ(set.size(), 50000u);
  for (int i = 0; i < 70000; ++i) {
    ASSERT_EQ(set.repeated(static_cast<std::size_t>(i)), i >= 50000) << i;
  }
  EXPECT_EQ(set.find("tag.49999"), 49999u);
}

TEST(tag_set, empty) {
  const tag_set set(std::span<const std::string_view>{});
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.contains("a"));
}

}  // namespace
}  // namespace wsa
