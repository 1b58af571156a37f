// An open-addressing set of uint32_t ids looked up by a hash that the owner computes from
// data it keeps elsewhere (an exact tag's bytes; a trie node's parent and segment), so the
// table itself stores 8 bytes per slot: the hash's top 32 bits, which reject almost every
// mismatch without touching the entry, and the id. Linear probing with backward-shift
// deletion (no tombstones, so churn does not degrade it); grows at 3/4 load, shrinks at 1/8.
// Owned by a subscription_index; only its shard's thread touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsa {

class id_table {
 public:
  static constexpr uint32_t npos = UINT32_MAX;

  /// The id whose key hashes to `hash` and for which `same_key(id)` holds; npos if none.
  template <class Same>
  uint32_t find(uint64_t hash, Same&& same_key) const {
    if (slots_.empty()) {
      return npos;
    }
    const uint32_t fingerprint = fingerprint_of(hash);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(fingerprint);; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.id == npos) {
        return npos;
      }
      if (s.fingerprint == fingerprint && same_key(s.id)) {
        return s.id;
      }
    }
  }

  /// Adds `id` (not present; id != npos) under `hash`.
  void insert(uint64_t hash, uint32_t id);

  /// Removes `id`, which was inserted under `hash`.
  void erase(uint64_t hash, uint32_t id);

  std::size_t size() const { return size_; }
  std::size_t heap_bytes() const { return slots_.capacity() * sizeof(slot); }

 private:
  struct slot {
    uint32_t fingerprint;
    uint32_t id;
  };

  static uint32_t fingerprint_of(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }
  std::size_t home(uint32_t fingerprint) const { return fingerprint >> shift_; }
  void place(slot s);
  void rehash(std::size_t capacity);

  std::vector<slot> slots_;
  std::size_t size_ = 0;
  unsigned shift_ = 32;  // 32 - log2(capacity): the home slot is the fingerprint's top bits
};

}  // namespace wsa
