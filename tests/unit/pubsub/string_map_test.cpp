// string_map: client-chosen keys are hashed with the process-seeded hash, and looked up by
// std::string_view without building a std::string.
#include "pubsub/string_map.h"

#include <gtest/gtest.h>

#include <functional>
#include <string_view>

namespace wsa {
namespace {

TEST(string_map, hashes_with_the_seeded_hash) {
  const string_map<int> map;
  for (std::string_view key : {"", "a", "chat.lobby", "a.much.longer.tag.with.many.segments"}) {
    EXPECT_EQ(map.hash_function()(key), static_cast<std::size_t>(hash_bytes(key)));
  }
  // Not the fixed, public hash of the standard library.
  int same = 0;
  for (std::string_view key : {"x", "y", "chat.lobby", "sensors.1"}) {
    same += map.hash_function()(key) == std::hash<std::string_view>{}(key) ? 1 : 0;
  }
  EXPECT_LT(same, 4);
}

TEST(string_map, finds_by_string_view) {
  string_map<int> map;
  map.emplace("chat.lobby", 1);
  const std::string_view key = "chat.lobby";
  auto it = map.find(key);
  ASSERT_NE(it, map.end());
  EXPECT_EQ(it->second, 1);
  EXPECT_EQ(map.find(std::string_view("chat")), map.end());
}

}  // namespace
}  // namespace wsa
