#include "util/xorshift.h"

#include <sys/random.h>

#include "util/clock.h"

namespace wsa {

xorshift64::xorshift64(uint64_t salt) {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed)) {
    seed = 0;  // entropy not ready (never on a running server): the clock still varies
  }
  state_ = seed ^ (salt * 0x9e3779b97f4a7c15ull) ^ static_cast<uint64_t>(monotonic_ns());
  if (state_ == 0) {
    state_ = 0x2545f4914f6cdd1dull;  // the one state xorshift cannot leave
  }
}

}  // namespace wsa
