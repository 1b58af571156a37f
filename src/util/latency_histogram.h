// A latency histogram with fixed buckets, exported by /metrics as a Prometheus histogram
// (obs/metrics.cpp sums the shards' and makes the buckets cumulative at scrape time).
// One writer (its shard): an observation is a short bucket search and two relaxed
// load + store pairs, no lock, no allocation; any thread may read it for a scrape.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wsa {

class latency_histogram {
 public:
  /// Upper bounds of the buckets in microseconds (100 µs .. 5 s); one more bucket takes the
  /// rest (+Inf).
  static constexpr std::array<uint64_t, 15> bounds_us = {
      100,    250,    500,    1000,    2500,    5000,    10000,  25000,
      50000,  100000, 250000, 500000, 1000000, 2500000, 5000000};
  static constexpr std::size_t buckets = bounds_us.size() + 1;

  void observe_us(uint64_t us) {
    std::size_t i = 0;
    while (i < bounds_us.size() && us > bounds_us[i]) {
      ++i;
    }
    add(counts_[i], 1);
    add(sum_us_, us);
  }
  /// Observes the time from `start_ns` to `now_ns` (monotonic nanoseconds).
  void observe_ns(int64_t start_ns, int64_t now_ns) {
    observe_us(now_ns > start_ns ? static_cast<uint64_t>(now_ns - start_ns) / 1000 : 0);
  }

  /// Observations in bucket `i` alone (not cumulative).
  uint64_t in_bucket(std::size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }

 private:
  static void add(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, buckets> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace wsa
