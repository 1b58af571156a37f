// Seeded string hash (a wyhash-style multiply-fold). See hash.h.
#include "pubsub/hash.h"

#include <sys/random.h>

#include <chrono>
#include <cstring>

namespace wsa {
namespace {

struct hash_secrets {
  uint64_t s0;
  uint64_t s1;
  uint64_t s2;
};

hash_secrets make_secrets() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    // Only before the entropy pool is ready, which a server never sees; still vary per run.
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return {hash_mix(seed), hash_mix(seed + 0x9e3779b97f4a7c15ULL),
          hash_mix(seed + 0x3c6ef372fe94f82aULL)};
}

const hash_secrets secrets = make_secrets();

// 64x64->128 multiply, folded: every input bit reaches the middle output bits.
inline uint64_t mum(uint64_t a, uint64_t b) {
  __extension__ using u128 = unsigned __int128;
  const u128 r = static_cast<u128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  uint64_t h = secrets.s0 ^ n;
  while (n > 8) {
    h = mum(load8(p) ^ secrets.s1, h ^ secrets.s2);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;  // the last 1..8 bytes (overlapping reads; the length is already in h)
  if (n >= 4) {
    tail = load4(p) << 32 | load4(p + n - 4);
  } else if (n > 0) {
    const auto byte = [p](std::size_t i) {
      return static_cast<uint64_t>(static_cast<uint8_t>(p[i]));
    };
    tail = byte(0) << 16 | byte(n >> 1) << 8 | byte(n - 1);
  }
  return hash_mix(mum(tail ^ secrets.s1, h ^ secrets.s2));
}

}  // namespace wsa
