// Histogram tests: exact small values, bounded relative error over the whole range,
// bucket indexes monotonic and inverse-consistent, percentiles, merge.
#include <gtest/gtest.h>

#include "histogram.h"

namespace wsa::loadgen {
namespace {

TEST(histogram, small_values_exact) {
  histogram h;
  for (uint64_t v = 1; v <= 100; ++v) {
    h.record(v);
  }
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(histogram, index_monotonic_and_error_bounded) {
  std::size_t prev = 0;
  for (uint64_t v = 1; v < (uint64_t{1} << 42); v = v + v / 7 + 1) {
    std::size_t i = histogram::index_of(v);
    ASSERT_GE(i, prev);
    ASSERT_LT(i, histogram::bucket_count);
    uint64_t hi = histogram::highest_of(i);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - v), static_cast<double>(v) / 127.0) << v;
    ASSERT_EQ(histogram::index_of(hi), i);
    ASSERT_EQ(histogram::index_of(hi + 1), i + 1);
    prev = i;
  }
  EXPECT_EQ(histogram::index_of(UINT64_MAX), histogram::bucket_count - 1);
}

TEST(histogram, percentiles_of_a_spread) {
  histogram h;
  for (int i = 0; i < 990; ++i) {
    h.record(1000000);  // 1 ms
  }
  for (int i = 0; i < 10; ++i) {
    h.record(50000000);  // 50 ms tail
  }
  EXPECT_NEAR(static_cast<double>(h.percentile(50)), 1e6, 1e6 / 100);
  EXPECT_NEAR(static_cast<double>(h.percentile(99)), 1e6, 1e6 / 100);
  EXPECT_NEAR(static_cast<double>(h.percentile(99.9)), 5e7, 5e7 / 100);
  EXPECT_EQ(h.percentile(100), 50000000u);
}

TEST(histogram, merge_adds_counts_and_extremes) {
  histogram a;
  histogram b;
  a.record(10);
  b.record(5000);
  b.record(3);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min(), 3u);
  EXPECT_EQ(a.max(), 5000u);
  EXPECT_EQ(a.percentile(50), 10u);
}

}  // namespace
}  // namespace wsa::loadgen
