// Monotonic time in one place, so that timers and tests agree on the unit.
#pragma once

#include <cstdint>
#include <ctime>

namespace wsa {

/// Milliseconds on CLOCK_MONOTONIC: deadlines, timeouts, latency.
inline int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

/// Nanoseconds on CLOCK_MONOTONIC: latency measurements.
inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

/// Milliseconds since the Unix epoch (wall clock): publication times (`ts`), timestamps
/// shown to people.
inline int64_t unix_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

/// Seconds since the Unix epoch (token `exp`/`nbf` are in these).
inline int64_t unix_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

}  // namespace wsa
