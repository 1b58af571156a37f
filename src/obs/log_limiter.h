// At most one log line per interval for an event that can repeat as fast as a loop turns
// (accept failures at the open-file limit, refused tokens, Redis errors): a flood of the
// same event must not flood the log, and the next line says how many were left out.
// One per event source; its owner's thread only.
#pragma once

#include <cstdint>

namespace wsa {

class log_limiter {
 public:
  explicit log_limiter(int64_t interval_ms = 1000) : interval_ms_(interval_ms) {}

  /// True when a line may be written at `now_ms`; `suppressed` then holds how many events
  /// were refused since the last line. False (and counted) otherwise.
  bool allow(int64_t now_ms, uint64_t& suppressed) {
    if (logged_once_ && now_ms - last_ms_ < interval_ms_) {
      ++suppressed_;
      return false;
    }
    logged_once_ = true;
    last_ms_ = now_ms;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  int64_t interval_ms_;
  int64_t last_ms_ = 0;
  uint64_t suppressed_ = 0;
  bool logged_once_ = false;
};

}  // namespace wsa
