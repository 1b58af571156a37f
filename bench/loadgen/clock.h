// Monotonic clock of the load generator. CLOCK_MONOTONIC is shared by every process on the
// machine, so a send time written by one worker (or another program) can be compared with
// the receive time read by another. Any thread may call it.
#pragma once

#include <cstdint>
#include <ctime>

namespace wsa::loadgen {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr uint64_t ns_per_ms = 1000000ull;
constexpr uint64_t ns_per_s = 1000000000ull;

}  // namespace wsa::loadgen
