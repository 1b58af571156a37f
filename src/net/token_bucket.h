// A per-connection rate limit: a token bucket of `burst` tokens refilled at `per_second`,
// kept as one number per bucket, the time at which it would be full again (GCRA, the
// "virtual scheduling" form of a token bucket, ITU-T I.371). Taking a token is a few
// arithmetic operations and no memory beyond that number. Shard thread only (one bucket
// belongs to one connection).
#pragma once

#include <algorithm>
#include <cstdint>

namespace wsa {

/// A rate and a burst, as intervals: computed once from the configuration.
struct rate_limit {
  int64_t interval_ns = 0;   ///< time one token takes to come back; 0: unlimited
  int64_t tolerance_ns = 0;  ///< how far ahead of time the bucket may run: (burst - 1) tokens

  /// `per_second` tokens a second, `burst` at once (at least 1); per_second 0: unlimited.
  static constexpr rate_limit of(uint32_t per_second, uint32_t burst) {
    if (per_second == 0) {
      return {};
    }
    const int64_t interval = std::max<int64_t>(1'000'000'000 / per_second, 1);
    return {interval, interval * (std::max<uint32_t>(burst, 1) - 1)};
  }
  bool unlimited() const { return interval_ns == 0; }
};

class token_bucket {
 public:
  /// Takes a token at `now_ns` (a monotonic clock); false when none is left, and then the
  /// refused attempt costs the bucket nothing.
  bool take(const rate_limit& limit, int64_t now_ns) {
    if (limit.unlimited()) {
      return true;
    }
    const int64_t full_at = full_at_ns_ > now_ns ? full_at_ns_ : now_ns;
    if (full_at - now_ns > limit.tolerance_ns) {
      return false;
    }
    full_at_ns_ = full_at + limit.interval_ns;
    return true;
  }

 private:
  int64_t full_at_ns_ = 0;  // before now: the bucket is full
};

}  // namespace wsa
