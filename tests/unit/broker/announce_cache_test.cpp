// announce_cache: a tag is announced once until its refresh is due, again after a failure,
// never twice while in flight; past its capacity the oldest inserted is forgotten.
#include "broker/announce_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace wsa {
namespace {

TEST(announce_cache, once_per_refresh_period) {
  announce_cache cache(8, 5000);
  EXPECT_TRUE(cache.due("a.x", 0));
  EXPECT_FALSE(cache.due("a.x", 0));  // in flight
  cache.done("a.x", 100);
  EXPECT_FALSE(cache.due("a.x", 5099));
  EXPECT_TRUE(cache.due("a.x", 5100));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(announce_cache, a_failed_announce_is_due_again) {
  announce_cache cache(8, 5000);
  EXPECT_TRUE(cache.due("a.x", 0));
  cache.failed("a.x");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.due("a.x", 1));
}

TEST(announce_cache, bounded_by_its_capacity_keeping_those_in_flight) {
  announce_cache cache(4, 5000);
  EXPECT_TRUE(cache.due("t0", 0));  // stays in flight: never forgotten
  for (int i = 1; i < 100; ++i) {
    const std::string tag = "t" + std::to_string(i);
    EXPECT_TRUE(cache.due(tag, 0));
    cache.done(tag, 0);
    // failed and due again: names repeat in the insertion order, which stays bounded too
    cache.failed(tag);
    EXPECT_TRUE(cache.due(tag, 0));
    cache.done(tag, 0);
    EXPECT_LE(cache.size(), 5u);
  }
  EXPECT_FALSE(cache.due("t0", 0));   // still in flight
  EXPECT_FALSE(cache.due("t99", 1));  // the newest is still known
  EXPECT_TRUE(cache.due("t1", 1));    // the oldest was forgotten
}

}  // namespace
}  // namespace wsa
