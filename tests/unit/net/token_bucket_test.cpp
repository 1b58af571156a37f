// The per-connection rate limit: a burst at once, then the rate, and refusals cost nothing.
#include "net/token_bucket.h"

#include <gtest/gtest.h>

namespace wsa {
namespace {

constexpr int64_t ms = 1'000'000;

int taken(token_bucket& b, const rate_limit& limit, int64_t at, int attempts) {
  int n = 0;
  for (int i = 0; i < attempts; ++i) {
    n += b.take(limit, at) ? 1 : 0;
  }
  return n;
}

TEST(token_bucket, allows_the_burst_at_once_then_the_rate) {
  const rate_limit limit = rate_limit::of(10, 5);  // one token per 100 ms
  token_bucket b;
  const int64_t t0 = 1000 * ms;
  EXPECT_EQ(taken(b, limit, t0, 20), 5);
  EXPECT_EQ(taken(b, limit, t0 + 99 * ms, 3), 0);
  EXPECT_EQ(taken(b, limit, t0 + 100 * ms, 3), 1);
  EXPECT_EQ(taken(b, limit, t0 + 350 * ms, 5), 2);
  // A long pause refills up to the burst, not beyond.
  EXPECT_EQ(taken(b, limit, t0 + 60'000 * ms, 100), 5);
}

TEST(token_bucket, a_steady_rate_at_the_limit_is_never_refused) {
  const rate_limit limit = rate_limit::of(1000, 1);
  token_bucket b;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(b.take(limit, i * ms)) << i;
  }
  EXPECT_FALSE(b.take(limit, 9999 * ms + ms / 2));
}

TEST(token_bucket, zero_rate_means_unlimited) {
  const rate_limit limit = rate_limit::of(0, 0);
  EXPECT_TRUE(limit.unlimited());
  token_bucket b;
  EXPECT_EQ(taken(b, limit, 0, 100000), 100000);
}

TEST(token_bucket, rates_above_a_billion_a_second_do_not_divide_to_zero) {
  const rate_limit limit = rate_limit::of(4'000'000'000u, 2);
  EXPECT_EQ(limit.interval_ns, 1);
  token_bucket b;
  EXPECT_EQ(taken(b, limit, 5, 10), 2);
}

}  // namespace
}  // namespace wsa
