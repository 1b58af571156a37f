// Log-linear latency histogram in the manner of HdrHistogram: exact below 256, then 128
// linear sub-buckets per power of two (relative error under 0.8%), up to 2^43 ns (~2.4 h).
// Recording is a few instructions and never allocates. Owned by one worker process;
// merged by the parent after the run. Values are nanoseconds by convention.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsa::loadgen {

class histogram {
 public:
  static constexpr int sub_bits = 8;
  static constexpr int max_magnitude = 42;  // values clamp to 2^(max_magnitude+1) - 1
  static constexpr std::size_t bucket_count =
      (std::size_t{1} << sub_bits) +
      static_cast<std::size_t>(max_magnitude - sub_bits + 1) * (std::size_t{1} << (sub_bits - 1));

  histogram() : counts_(bucket_count, 0) {}

  void record(uint64_t v) {
    ++counts_[index_of(v)];
    ++count_;
    sum_ += v;
    if (v < min_) {
      min_ = v;
    }
    if (v > max_) {
      max_ = v;
    }
  }

  // Smallest recorded bucket value such that at least q percent of samples are <= it
  // (reported as the bucket's highest equivalent value, clamped to the exact max).
  uint64_t percentile(double q) const;

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  void merge(const histogram& o);

  // Sparse access for serialisation between processes.
  const std::vector<uint64_t>& buckets() const { return counts_; }
  void set_raw(std::size_t index, uint64_t n) { counts_[index] = n; }
  void set_summary(uint64_t count, uint64_t sum, uint64_t min, uint64_t max) {
    count_ = count;
    sum_ = sum;
    min_ = min;
    max_ = max;
  }
  uint64_t sum() const { return sum_; }
  uint64_t raw_min() const { return min_; }

  static std::size_t index_of(uint64_t v) {
    constexpr uint64_t limit = (uint64_t{1} << (max_magnitude + 1)) - 1;
    if (v > limit) {
      v = limit;
    }
    if (v < (uint64_t{1} << sub_bits)) {
      return static_cast<std::size_t>(v);
    }
    int magnitude = 63 - __builtin_clzll(v);
    int shift = magnitude - sub_bits + 1;
    uint64_t sub = v >> shift;  // in [2^(sub_bits-1), 2^sub_bits)
    return (std::size_t{1} << sub_bits) +
           static_cast<std::size_t>(shift - 1) * (std::size_t{1} << (sub_bits - 1)) +
           static_cast<std::size_t>(sub - (uint64_t{1} << (sub_bits - 1)));
  }

  // Largest value that maps to bucket index i.
  static uint64_t highest_of(std::size_t i);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace wsa::loadgen
