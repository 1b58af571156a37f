// Percentiles and merging for the log-linear histogram (see histogram.h).
#include "histogram.h"

#include <cmath>

namespace wsa::loadgen {

uint64_t histogram::highest_of(std::size_t i) {
  constexpr std::size_t linear = std::size_t{1} << sub_bits;
  constexpr std::size_t half = std::size_t{1} << (sub_bits - 1);
  if (i < linear) {
    return i;
  }
  std::size_t group = (i - linear) / half;
  std::size_t sub = (i - linear) % half + half;
  int shift = static_cast<int>(group) + 1;
  return (static_cast<uint64_t>(sub) << shift) + (uint64_t{1} << shift) - 1;
}

uint64_t histogram::percentile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  double want = std::ceil(q / 100.0 * static_cast<double>(count_));
  uint64_t target = want < 1.0 ? 1 : static_cast<uint64_t>(want);
  if (target > count_) {
    target = count_;
  }
  uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= target) {
      uint64_t v = highest_of(i);
      return v > max_ ? max_ : v;
    }
  }
  return max_;
}

void histogram::merge(const histogram& o) {
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    counts_[i] += o.counts_[i];
  }
  count_ += o.count_;
  sum_ += o.sum_;
  if (o.min_ < min_) {
    min_ = o.min_;
  }
  if (o.max_ > max_) {
    max_ = o.max_;
  }
}

}  // namespace wsa::loadgen
