// xorshift64 (Marsaglia 2003): a tiny, fast, non-cryptographic generator for jitter and for
// candidate ids that need to differ, not to be secret. One instance per owner (shard thread
// only); seeded from the kernel and the clock so that processes and links differ.
#pragma once

#include <cstdint>

namespace wsa {

class xorshift64 {
 public:
  /// `salt` separates generators seeded at the same moment (a link number, a shard).
  explicit xorshift64(uint64_t salt = 0);

  uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

 private:
  uint64_t state_;
};

}  // namespace wsa
