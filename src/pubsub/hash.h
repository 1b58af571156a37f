// Seeded hashing for the subscription index's tables.
// Tags come from clients: with a fixed, public hash one client could fill a shard's tables
// with colliding tags and turn every lookup into a long probe. The seed is drawn from the
// kernel once per process, during static initialisation (do not hash from other static
// initialisers). Not cryptographic. Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace wsa {

/// 64-bit hash of the bytes of `s`, seeded per process.
uint64_t hash_bytes(std::string_view s);

/// A bijective 64-bit finaliser (MurmurHash3 fmix64): spreads integer keys over all bits.
constexpr uint64_t hash_mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace wsa
