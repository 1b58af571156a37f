// Helpers shared by the libFuzzer targets of tests/fuzz: a contract check that crashes (so
// libFuzzer saves the input), and a reader that takes structured values out of the input
// (what clang's FuzzedDataProvider does, kept here so the targets also build with GCC as
// seed-replay tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace wsa::fuzz {

/// A broken contract: print what and abort (libFuzzer then saves the reproducer).
#define WSA_FUZZ_REQUIRE(condition)                                                    \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

/// Takes values from the front of the fuzz input; past the end everything is zero/empty.
class input {
 public:
  input(const uint8_t* data, std::size_t size)
      : at_(reinterpret_cast<const char*>(data)), left_(size) {}

  uint8_t byte() {
    if (left_ == 0) {
      return 0;
    }
    --left_;
    return static_cast<uint8_t>(*at_++);
  }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v = (v << 8) | byte();
    }
    return v;
  }
  bool flag() { return (byte() & 1) != 0; }
  /// Up to `max` bytes, or up to (and without) the next `end` byte, whichever comes first.
  std::string_view until(char end, std::size_t max = SIZE_MAX) {
    std::size_t n = 0;
    while (n < left_ && n < max && at_[n] != end) {
      ++n;
    }
    const std::string_view out(at_, n);
    const std::size_t skip = n < left_ && n < max ? n + 1 : n;
    at_ += skip;
    left_ -= skip;
    return out;
  }
  std::string_view bytes(std::size_t n) {
    n = n < left_ ? n : left_;
    const std::string_view out(at_, n);
    at_ += n;
    left_ -= n;
    return out;
  }
  std::string_view rest() { return bytes(left_); }
  bool empty() const { return left_ == 0; }
  std::size_t left() const { return left_; }

 private:
  const char* at_;
  std::size_t left_;
};

}  // namespace wsa::fuzz
